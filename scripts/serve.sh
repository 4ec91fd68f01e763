#!/usr/bin/env bash
# Sets up what serving the page needs (Rust, the wasm target, trunk, wasm-bindgen), builds the
# page with the committed default model and serves it.
#
#   scripts/serve.sh [--host ADDR] [--port PORT]
#
# --host 0.0.0.0 makes the page reachable from other machines (default: this machine only).
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8080}
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=${2:?--host needs an address}; shift 2 ;;
    --port) PORT=${2:?--port needs a number}; shift 2 ;;
    -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "serve.sh: unknown argument $1 (try --help)" >&2; exit 64 ;;
  esac
done
case "$PORT" in '' | *[!0-9]*) echo "serve.sh: --port must be a number, not '$PORT'" >&2; exit 64 ;; esac

scripts/setup.sh serve
. scripts/env.sh
if [ ! -f public/models/default/manifest.json ]; then
  echo "serve.sh: the default model public/models/default/ is missing from this checkout" >&2
  exit 1
fi
echo "== building and serving the page at http://$HOST:$PORT/ (Ctrl-C to stop)"
exec trunk serve --release --no-autoreload --address "$HOST" --port "$PORT"
