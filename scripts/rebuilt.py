"""Reads `cargo build --message-format=json` on stdin and says how many crates the build had
to compile, and whether burn was among them. The test build should find burn already compiled
by the CLI build (`glassbox fetch` in setup): hack/Cargo.toml pins the features that would
otherwise make cargo compile it a second time (8-10 minutes on two cores)."""
import json
import sys

compiled = []
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "compiler-message":
        # Warnings and errors arrive as JSON too: show them as cargo would.
        sys.stderr.write(msg["message"].get("rendered") or "")
    if msg.get("reason") == "compiler-artifact" and not msg.get("fresh", True):
        compiled.append(msg["package_id"])
names = sorted({p.split("#")[-1].split("@")[0].split("/")[-1] for p in compiled})
burn = [n for n in names if n.startswith("burn")]
print(f"test build: compiled {len(names)} crates the CLI build had not"
      + (f", burn among them ({', '.join(burn)}): check hack/Cargo.toml" if burn else ", burn not among them"))
