#!/usr/bin/env python3
"""Runs the tutorials under docs/tutorials/ the way a reader would, and checks what they show.

Every fenced block whose info string starts with `sh` is a command the reader types; the blocks
of one tutorial run in order in one bash process (so `cd`, variables and `export` carry over),
from the repository root, with `set -euo pipefail`. A failing command fails the tutorial and
the runner prints that block's output.

    ```sh                                   run it
    ```sh background wait=URL               start it, wait until URL answers, stop it at the end
    ```json output   /  ```text output      what the block before printed: checked (numbers to
                                            3 significant places), rewritten by --update

Usage: scripts/tutorials.py [--update] [TUTORIAL.md ...]   (default: every docs/tutorials/*.md)
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class Block:
    def __init__(self, info, body, span):
        words = info.split()
        self.lang = words[0] if words else ""
        self.flags = words[1:]
        self.body = body
        self.span = span  # (start, end) of the body in the file

    @property
    def runs(self):
        return self.lang == "sh"

    @property
    def is_output(self):
        return "output" in self.flags

    @property
    def wait_url(self):
        for f in self.flags:
            if f.startswith("wait="):
                return f[len("wait="):]
        return None


def blocks(text):
    return [Block(m.group(1).strip(), m.group(2), m.span(2)) for m in FENCE.finditer(text)]


DRIVER_HEAD = r"""
set -eEuo pipefail
exec 3>&2
. scripts/env.sh
export PATH="$PWD/target/release:$PATH"
BG_PIDS=()
stop_background() { for p in "${BG_PIDS[@]}"; do kill -- "-$p" 2>/dev/null || true; done; }
trap stop_background EXIT
trap 'echo "failed in block $BLOCK (exit $?)" >&3' ERR
wait_for() {
  for _ in $(seq 1 900); do
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null && return 0
    sleep 1
  done
  echo "timed out waiting for $1" >&3; return 1
}
"""


def driver(runnable, out):
    """One bash script: each block's stdout/stderr go to OUT/N.out and OUT/N.err."""
    parts = [DRIVER_HEAD]
    for i, b in enumerate(runnable):
        first = b.body.strip().splitlines()[0] if b.body.strip() else ""
        parts.append(f"BLOCK={i + 1}; echo '  [{i + 1}/{len(runnable)}] {esc(first)}' >&3")
        if b.wait_url:
            parts.append(
                f"setsid bash -c {quote(b.body)} >'{out}/{i + 1}.out' 2>'{out}/{i + 1}.err' &\n"
                f"BG_PIDS+=($!)\nwait_for {quote(b.wait_url)}"
            )
        else:
            parts.append(f"{{\n{b.body}\n}} >'{out}/{i + 1}.out' 2>'{out}/{i + 1}.err'")
    return "\n".join(parts) + "\n"


def esc(s):
    return s.replace("'", "'\\''")[:100]


def quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=2e-3)


def same_json(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and close(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return a == b


def parse_json_or_lines(s):
    try:
        return json.loads(s)
    except ValueError:
        return [json.loads(line) for line in s.splitlines() if line.strip()]


def same_text(a, b):
    la, lb = a.rstrip().splitlines(), b.rstrip().splitlines()
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if NUMBER.sub("#", x.rstrip()) != NUMBER.sub("#", y.rstrip()):
            return False
        nx, ny = NUMBER.findall(x), NUMBER.findall(y)
        if not all(close(float(p), float(q)) for p, q in zip(nx, ny)):
            return False
    return True


def same(lang, expected, actual):
    if lang in ("json", "jsonl"):
        try:
            return same_json(parse_json_or_lines(expected), parse_json_or_lines(actual))
        except ValueError:
            return False
    return same_text(expected, actual)


def run_tutorial(path, update):
    text = path.read_text()
    bs = blocks(text)
    runnable = [b for b in bs if b.runs]
    print(f"== {path.relative_to(ROOT)}: {len(runnable)} command blocks", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="tutorial-") as out:
        script = Path(out) / "driver.sh"
        script.write_text(driver(runnable, out))
        proc = subprocess.run(["bash", str(script)], cwd=ROOT)
        if proc.returncode != 0:
            show_failure(out, len(runnable))
            return False
        return check_outputs(path, text, bs, runnable, out, update)


def show_failure(out, n):
    for i in range(n, 0, -1):
        err = Path(out) / f"{i}.err"
        if err.exists():
            sys.stderr.write((Path(out) / f"{i}.out").read_text()[-4000:])
            sys.stderr.write(err.read_text()[-4000:])
            return


def check_outputs(path, text, bs, runnable, out, update):
    """Each `output` block is compared with the run block just before it."""
    edits, ok = [], True
    for prev, b in zip(bs, bs[1:]):
        if not b.is_output:
            continue
        if not prev.runs:
            print(f"{path}: an output block must follow a sh block", file=sys.stderr)
            return False
        i = runnable.index(prev) + 1
        actual = (Path(out) / f"{i}.out").read_text()
        if same(b.lang, b.body, actual):
            continue
        if update:
            edits.append((b.span, actual if actual.endswith("\n") else actual + "\n"))
        else:
            ok = False
            print(f"{path}: the output of block {i} differs from the document:\n--- document\n"
                  f"{b.body}--- actual\n{actual}(scripts/tutorials.py --update {path} rewrites it)",
                  file=sys.stderr)
    for (start, end), new in reversed(edits):
        text = text[:start] + new + text[end:]
    if edits:
        path.write_text(text)
        print(f"{path}: {len(edits)} output block(s) rewritten", file=sys.stderr)
    return ok


def main(argv):
    update = "--update" in argv
    paths = [Path(a).resolve() for a in argv if a != "--update"]
    paths = paths or sorted((ROOT / "docs/tutorials").glob("*.md"))
    if not paths:
        print("no tutorials found under docs/tutorials/", file=sys.stderr)
        return 1
    failed = [p for p in paths if not run_tutorial(p, update)]
    for p in failed:
        print(f"FAILED: {p.relative_to(ROOT)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
