#!/usr/bin/env bash
# Every test glassbox has: lint, unit + integration tests on the real model (cpu and wgpu on
# lavapipe), the page's helpers natively, the wasm build, and the browser e2e on WebGPU
# (SwiftShader) and the CPU fallback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
. scripts/env.sh

echo "== fmt + clippy"
cargo fmt --all --check
cargo clippy --all-targets -q -- -D warnings
cargo clippy -q -p glassbox-app --target wasm32-unknown-unknown -- -D warnings

echo "== native tests (model unit tests, CLI, tokenizer, parity with the numpy reference on cpu and wgpu, the page's pure helpers)"
# --release shares the build with the CLI that fetch and the e2e tests use (one compile of burn).
cargo test --release -p glassbox-model -p glassbox-trainer -p glassbox-app

echo "== the model crate's API docs (every public item documented, every link resolved)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --release --no-deps -p glassbox-model

echo "== browser build + e2e"
scripts/build-web.sh
node --test --test-concurrency=1 e2e/

echo "== HTTP API contract (schemathesis against glassbox serve's /openapi.json)"
scripts/api-contract.sh

echo "== tutorials (every command in docs/tutorials/, outputs checked)"
python3 scripts/tutorials.py
