#!/usr/bin/env bash
# Every test glassbox has: lint, unit + integration tests on the real model (cpu and wgpu on
# lavapipe), the page's helpers natively, the wasm build, and the browser e2e on WebGPU
# (SwiftShader) and the CPU fallback.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
# A phase's heading, with the minutes spent so far: where a slow run spent its time.
phase() { printf '\n== [%dm%02ds] %s\n' $(((SECONDS - START) / 60)) $(((SECONDS - START) % 60)) "$*"; }

phase "setup"
scripts/setup.sh test
. scripts/env.sh

phase "fmt + clippy"
cargo fmt --all --check
cargo clippy --all-targets -q -- -D warnings
cargo clippy -q -p glassbox-app --target wasm32-unknown-unknown -- -D warnings

phase "native tests (model unit tests, CLI, tokenizer, parity with the numpy reference on cpu and wgpu, the page's pure helpers)"
# --release: the tests run the real model. hack/ pins the features the page's crate and the
# test dependencies turn on, so this reuses the burn that `cargo build -p glassbox-trainer`
# compiled for fetch; rebuilt.py says what it had to compile (and shows any compiler message).
cargo test --release --no-run -p glassbox-model -p glassbox-trainer -p glassbox-app --message-format=json \
  | python3 scripts/rebuilt.py
cargo test --release -p glassbox-model -p glassbox-trainer -p glassbox-app

phase "the model crate's API docs (every public item documented, every link resolved)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --release --no-deps -p glassbox-model

phase "browser build + e2e"
scripts/build-web.sh
node --test --test-concurrency=1 e2e/

phase "HTTP API contract (schemathesis against glassbox serve's /openapi.json)"
scripts/api-contract.sh

phase "fuzzing (every cargo-fuzz target, 20 s each from the committed corpus)"
scripts/fuzz.sh 20

phase "tutorials (every command in docs/tutorials/, outputs checked)"
python3 scripts/tutorials.py

phase "all tests passed"
