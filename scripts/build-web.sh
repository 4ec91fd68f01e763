#!/usr/bin/env bash
# Builds the page into dist/ with the bundle it serves. Until a trained default bundle is
# committed under public/models/default/, the base model is exported (untrained heads) to
# public/models/base/, which is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
if [ ! -f public/models/default/manifest.json ] && [ ! -f public/models/base/manifest.json ]; then
  echo "== exporting the base model to public/models/base/"
  cargo run --release -q -p glassbox-trainer -- export --model assets/all-MiniLM-L6-v2 --out public/models/base
fi
echo "== trunk build --release"
trunk build --release
