#!/usr/bin/env bash
# Peer benchmark in one command: glassbox against what users would pick instead, written to
# docs/benchmarks.md as ratios measured in this one run (see bench/README.md).
#
#   scripts/bench-peers.sh [--repeats R] [--runs N] [--no-build] [--out docs/benchmarks.md]
#
# Installs its own dependencies (pip: bench/requirements.txt; npm: bench/package.json when the
# browser side exists), builds the ONNX peer into bench/out/onnx-model (cached; rebuilt when the
# checkpoint, tokenizer or export script changes), then runs ONNX Runtime and `glassbox bench`
# alternately R times, single-threaded, so that each repeat gives a paired ratio. Nothing is
# fetched from a model hub: the ONNX graph is built from assets/all-MiniLM-L6-v2.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEATS=3
RUNS=10
BUILD=1
OUT_MD=docs/benchmarks.md
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) REPEATS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT_MD="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-peers: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\n== %s\n' "$*" >&2; }

MODEL=assets/all-MiniLM-L6-v2
BUNDLE=public/models/default
SENTENCES=bench/sentences.json
ONNX_DIR=bench/out/onnx-model
RESULTS=bench/out/results/latest
BIN=target/release/glassbox
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1

for f in "$MODEL/model.safetensors" "$MODEL/config.json" "$MODEL/tokenizer.json" "$SENTENCES"; do
  if [ ! -f "$f" ]; then
    echo "bench-peers: $f is missing (run scripts/setup.sh, which fetches the model and data)" >&2; exit 1
  fi
done

# --- dependencies -----------------------------------------------------------------------------
# Like scripts/setup.sh: system python3's pip, only when a pinned package is absent or differs.
if ! python3 - bench/requirements.txt <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, want = line.split("==")
        assert version(name) == want, name
PY
then
  log "pip: installing bench/requirements.txt"
  python3 -m pip install --disable-pip-version-check -q -r bench/requirements.txt
fi
# The browser side is optional: a failure there is reported in the table, not fatal.
skipped=()
browser=0
if [ ! -f bench/page-bench.mjs ]; then
  skipped+=("browser: bench/page-bench.mjs does not exist yet, so the page (wasm, WebGPU) and transformers.js (fp32, q8) rows are missing")
else
  if [ ! -f bench/package.json ] || [ ! -f bench/package-lock.json ]; then
    skipped+=("browser: bench/package.json or bench/package-lock.json is missing (run \`npm install\` in bench/ once and commit the lock), so the page and transformers.js rows are missing")
  elif [ -d bench/node_modules ] && [ ! bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
    browser=1
  else
    log "npm: installing the browser side's packages (npm ci in bench/)"
    if (cd bench && npm ci --no-audit --no-fund); then browser=1
    else skipped+=("browser: \`npm ci\` in bench/ failed, so the page and transformers.js rows are missing"); fi
  fi
fi

# --- the ONNX peer (cached) --------------------------------------------------------------------
stamp=$(cat "$MODEL/model.safetensors" "$MODEL/tokenizer.json" "$MODEL/config.json" \
          bench/onnx_export.py bench/requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$ONNX_DIR/.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "onnx: building $ONNX_DIR from $MODEL (checked against tests/reference/bert_reference.py)"
  rm -rf "$ONNX_DIR"
  python3 bench/onnx_export.py --model "$MODEL" --out "$ONNX_DIR" --sentences "$SENTENCES"
  echo "$stamp" > "$ONNX_DIR/.stamp"
else
  log "onnx: $ONNX_DIR is up to date"
fi

# --- glassbox native -----------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  stale=""
  if [ ! -x "$BIN" ]; then
    stale="missing"
  elif [ -n "$(find model trainer Cargo.toml Cargo.lock -newer "$BIN" \( -name '*.rs' -o -name '*.toml' -o -name Cargo.lock \) -print -quit 2>/dev/null)" ]; then
    stale="older than the sources"
  fi
  if [ -n "$stale" ]; then
    log "cargo: $BIN is $stale; building it (cargo build --release -p glassbox-trainer)"
    cargo build --release -q -p glassbox-trainer
  fi
fi
native=()  # "label|bundle|extra flags"
if [ -x "$BIN" ] && "$BIN" bench --help >/dev/null 2>&1; then
  native+=("default-bundle-int8-kernels|$BUNDLE|--kernels int8" "default-bundle-f32-kernels|$BUNDLE|--kernels f32")
else
  skipped+=("glassbox native: \`$BIN bench\` is not available (binary missing or without the bench subcommand), so the table has no glassbox native rows")
fi
[ -f "$BUNDLE/manifest.json" ] || { echo "bench-peers: $BUNDLE/manifest.json missing" >&2; exit 1; }

# --- runs: ORT and glassbox interleaved ----------------------------------------------------------
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
cp "$ONNX_DIR/export_report.json" "$RESULTS/"
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$REPEATS"); do
  log "repeat $r/$REPEATS: onnxruntime (fp32, fp32-ort-opt, q8)"
  python3 bench/ort_bench.py --model-dir "$ONNX_DIR" --sentences "$SENTENCES" --runs "$RUNS" > "$RESULTS/ort-$r.json"
  for spec in "${native[@]+"${native[@]}"}"; do
    IFS='|' read -r label bundle flags <<< "$spec"
    log "repeat $r/$REPEATS: glassbox bench $label"
    # shellcheck disable=SC2086  # flags is empty or one flag
    if ! "$BIN" bench --bundle "$bundle" --sentences "$SENTENCES" --runs "$RUNS" $flags > "$RESULTS/glassbox-$label-$r.json"; then
      rm -f "$RESULTS/glassbox-$label-$r.json"
      skipped+=("glassbox native: \`glassbox bench --bundle $bundle $flags\` failed in repeat $r (see its output above)")
    fi
  done
done

# --- browser side (page and transformers.js), added by bench/page-bench.mjs ----------------------
if [ "$browser" = 1 ]; then
  log "browser: node bench/page-bench.mjs"
  if ! node bench/page-bench.mjs --out "$RESULTS/page.json" --onnx "$ONNX_DIR" --sentences "$SENTENCES" --runs "$RUNS"; then
    rm -f "$RESULTS/page.json"
    skipped+=("browser: \`node bench/page-bench.mjs\` failed (see its output above), so the page and transformers.js rows are missing")
  fi
fi
for msg in "${skipped[@]+"${skipped[@]}"}"; do echo "bench-peers: $msg" >&2; done
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- render --------------------------------------------------------------------------------------
python3 - "$RESULTS/meta.json" "$REPEATS" "$RUNS" "$SENTENCES" "$loadavg_start" "$loadavg_end" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (uncommitted changes)')" \
  "${skipped[@]+"${skipped[@]}"}" <<'PY'
import datetime, json, os, sys
out, repeats, runs, sentences, la0, la1, commit, *skipped = sys.argv[1:]
cpu = "unknown CPU"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
with open(sentences) as f:
    count = len(json.load(f))
meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cores": os.cpu_count(), "loadavg_start": la0, "loadavg_end": la1,
        "commit": commit, "repeats": int(repeats), "runs": int(runs), "sentences": sentences,
        "sentence_count": count, "skipped": skipped}
with open(out, "w") as f:
    json.dump(meta, f, indent=1)
PY
python3 bench/render.py --results "$RESULTS" --out "$OUT_MD"
