#!/usr/bin/env bash
# Load test of `glassbox serve` on loopback with wrk (Debian), POSTing real tweets
# (bench/sentences.json) to /predict, one tweet per request:
#   1. throughput and p50/p99 at 1, 8 and 64 connections (result cache off: every request
#      runs the model);
#   2. cache hit vs miss: the same tweet again and again with the cache on;
#   3. batcher gain: the same load with --max-batch-requests 1;
#   4. 10x overload: 80 connections against --max-concurrent-requests 8 -> counts of 200 and
#      429, the server's RSS sampled from /proc during the run.
# Writes docs/serving-load.md (regenerated on every run, never edited by hand) and prints it.
# A benchmark, not a test, except part 4: any status other than 200/429, a socket error, a
# dead server after the run or an RSS above RSS_LIMIT_MIB makes the script fail.
#
#   scripts/load-test.sh                 # ~1.5 min (7 runs of DURATION s + server starts)
#   DURATION=30 scripts/load-test.sh
#
# Why wrk and not oha: `cargo install oha --locked` (oha 1.16.0) had compiled 172 crates and
# was still going after 533 s on the 2-core machine (over the ~8 minutes allowed for it);
# wrk is one apt package (`apt-get install -y wrk`) and its Lua script posts the bodies.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}          # seconds per measurement
BUNDLE=${BUNDLE:-public/models/default}
RSS_LIMIT_MIB=${RSS_LIMIT_MIB:-1024}   # the memory limit in deploy/k8s/base/deployment.yaml
# GLASSBOX_BIN: an already built binary (then nothing is built).
BIN=${GLASSBOX_BIN:-${CARGO_TARGET_DIR:-target}/release/glassbox}
OUT=docs/serving-load.md
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "== load-test: $*" >&2; }

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk (scripts/setup.sh)" >&2; exit 1; }
[ -f "$BUNDLE/manifest.json" ] || { echo "no bundle at $BUNDLE" >&2; exit 1; }
log "building the release binary"
[ -n "${GLASSBOX_BIN:-}" ] || cargo build --release -q -p glassbox-trainer

# The request bodies as a Lua table (python writes them: JSON in, Lua long strings out).
python3 - "$work/bodies.lua" <<'PY'
import json, sys
tweets = json.load(open("bench/sentences.json"))
with open(sys.argv[1], "w") as f:
    f.write("return {\n")
    for t in tweets:
        f.write("[==[" + json.dumps({"inputs": t}) + "]==],\n")
    f.write("}\n")
PY

# wrk script: POST /predict, tweets in turn (or only the first when args[2] == "same"),
# counting statuses; done() prints one JSON line that the shell reads.
cat > "$work/predict.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  bodies = dofile(args[1])
  same = args[2] == "same"
  i = 0
  statuses = {}
  wrk.method = "POST"
  wrk.path = "/predict"
  wrk.headers["content-type"] = "application/json"
end
function request()
  i = i + 1
  local body = same and bodies[1] or bodies[(i % #bodies) + 1]
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do counts[tostring(k)] = (counts[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "mean_ms": %.2f, ' ..
    '"socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency.mean / 1e3,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
LUA

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# rss_sampler PID FILE: VmRSS in KiB every 0.2 s until the process or the sampler is stopped.
rss_sampler() {
  while kill -0 "$1" 2>/dev/null; do
    awk '/^VmRSS/ {print $2}' "/proc/$1/status" >>"$2" 2>/dev/null || true
    sleep 0.2
  done
}

# start_server FLAGS...: starts `glassbox serve` on a free port, waits for /ready, and sets
# $port and $server_pid, and samples the server's RSS from then on.
start_server() {
  port=$(free_port)
  "$BIN" serve --bundle "$BUNDLE" --port "$port" "$@" >"$work/server-$port.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 600); do
    if curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then
      awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status" >"$work/rss-idle-$port"
      rss_sampler "$server_pid" "$work/rss-$port" &
      pids+=("$!")
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server-$port.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "server not ready within 120 s" >&2; exit 1
}

stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }

# measure CONNECTIONS [same]: runs wrk against $port and prints its RESULT JSON; the RSS
# samples of the run are in $work/rss-$port afterwards.
measure() {
  local c=$1 threads=$(( $1 < 2 ? 1 : 2 ))
  curl -fs "http://127.0.0.1:$port/predict" -H 'content-type: application/json' \
    -d '{"inputs": "warm-up"}' >/dev/null
  : >"$work/rss-$port"
  wrk -t "$threads" -c "$c" -d "${DURATION}s" --timeout 30s --latency \
    -s "$work/predict.lua" "http://127.0.0.1:$port" -- "$work/bodies.lua" "${2:-}" \
    | sed -n 's/^RESULT //p'
}

results=$work/results.jsonl
# record CASE JSON: one line of $results, with the peak and idle RSS (MiB) of the server.
record() {
  python3 - "$1" "$2" "$work/rss-$port" "$work/rss-idle-$port" >>"$results" <<'PY'
import json, sys
case, result, rss, idle = sys.argv[1:]
r = json.loads(result)
samples = [int(x) / 1024 for x in open(rss).read().split()]
r.update(case=case, rss_max_mib=max(samples), rss_samples=len(samples),
         rss_idle_mib=int(open(idle).read()) / 1024)
print(json.dumps(r))
PY
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "1. throughput at 1, 8, 64 connections (cache off)"
start_server --cache-bytes 0
for c in 1 8 64; do record "batched c=$c" "$(measure "$c")"; done
stop_server

log "2. cache hit: one tweet repeated (cache on)"
start_server
record "cache hit c=1" "$(measure 1 same)"
stop_server

log "3. batcher off: --max-batch-requests 1"
start_server --cache-bytes 0 --max-batch-requests 1
for c in 8 64; do record "batch-1 c=$c" "$(measure "$c")"; done
stop_server

log "4. 10x overload: 80 connections, --max-concurrent-requests 8"
start_server --cache-bytes 0 --max-concurrent-requests 8
record "overload c=80 max=8" "$(measure 80)"
alive=no
kill -0 "$server_pid" 2>/dev/null && curl -fs "http://127.0.0.1:$port/health" >/dev/null && alive=yes
stop_server

python3 - "$results" "$alive" "$RSS_LIMIT_MIB" "$DURATION" "$OUT" "$load_before" <<'PY'
import json, os, platform, subprocess, sys, datetime
results, alive, limit, duration, out, load = sys.argv[1:]
rows = {r["case"]: r for r in map(json.loads, open(results))}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()

def rps(r): return r["requests"] / r["seconds"]

lines = [
    "# `glassbox serve` under load",
    "",
    "Generated by `scripts/load-test.sh` (do not edit by hand; rerun it). Loopback, wrk,",
    f"`POST /predict` with one real tweet per request (bench/sentences.json, 32 tweets in turn),",
    f"{duration} s per row, the committed default bundle, f32 kernels, CPU backend.",
    f"Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}; "
    f"commit {rev}; {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.",
    "The load generator shares the cores with the server, so these are lower bounds; "
    f"load average before the run: {load}.",
    "",
    "| case | connections | requests/s | p50 ms | p99 ms | peak RSS MiB | statuses |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
]
for case, r in rows.items():
    name, c = case.rsplit(" c=", 1)
    st = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
    if r["socket_errors"]:
        st += f", socket errors: {r['socket_errors']}"
    lines.append(f"| {name} | {c.split()[0]} | {rps(r):.1f} | {r['p50_ms']:.1f} | "
                 f"{r['p99_ms']:.1f} | {r['rss_max_mib']:.0f} | {st} |")

hit, miss = rows["cache hit c=1"], rows["batched c=1"]
ov = rows["overload c=80 max=8"]
ok, refused = ov["statuses"].get("200", 0), ov["statuses"].get("429", 0)
other = {k: v for k, v in ov["statuses"].items() if k not in ("200", "429")}
lines += [
    "",
    "- **Batcher gain** (cache off): at 64 connections "
    f"{rps(rows['batched c=64']):.1f} req/s batched vs {rps(rows['batch-1 c=64']):.1f} with "
    f"`--max-batch-requests 1` (x{rps(rows['batched c=64']) / rps(rows['batch-1 c=64']):.2f}); "
    f"at 8: {rps(rows['batched c=8']):.1f} vs {rps(rows['batch-1 c=8']):.1f} "
    f"(x{rps(rows['batched c=8']) / rps(rows['batch-1 c=8']):.2f}).",
    f"- **Cache**: a hit takes p50 {hit['p50_ms']:.2f} ms / p99 {hit['p99_ms']:.2f} ms; a miss "
    f"p50 {miss['p50_ms']:.2f} ms / p99 {miss['p99_ms']:.2f} ms (one connection).",
    f"- **10x overload** (80 connections, `--max-concurrent-requests 8`): {ok} answered 200, "
    f"{refused} refused with 429, other statuses {other or 'none'}, socket errors "
    f"{ov['socket_errors']}; server alive afterwards: {alive}. RSS {ov['rss_idle_mib']:.0f} MiB "
    f"when /ready first answered, max {ov['rss_max_mib']:.0f} MiB over {ov['rss_samples']} samples (every 0.2 s) "
    f"during the run (limit checked: {limit} MiB).",
]
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
failures = []
if other: failures.append(f"statuses other than 200/429 under overload: {other}")
if ov["socket_errors"]: failures.append(f"{ov['socket_errors']} socket errors under overload")
if refused == 0: failures.append("no 429 under 10x overload: admission control did not act")
if alive != "yes": failures.append("the server did not survive the overload")
if max(ov["rss_max_mib"], ov["rss_idle_mib"]) > int(limit): failures.append(f"RSS {ov['rss_max_mib']:.0f} MiB above {limit} MiB")
if failures:
    sys.exit("load-test FAILED: " + "; ".join(failures))
PY
