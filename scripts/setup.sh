#!/usr/bin/env bash
# Installs what glassbox needs on a Debian machine, skipping what is already there.
#
#   scripts/setup.sh serve   only what serving the page needs: Rust (rustup) and a C compiler,
#                            the wasm32 target, trunk, wasm-bindgen-cli
#   scripts/setup.sh test    (the default) all of the above, plus what the tests need:
#                            rustfmt/clippy, Chromium, Vulkan (lavapipe), fonts, WordNet, Apertium, a Python
#                            venv (.venv) for the numpy reference and the API contract test,
#                            Node >= 20 and the e2e packages, and the real model and data
#
# Root needs no sudo; another user needs sudo for apt. Nothing is installed into the system
# Python (Debian refuses that: PEP 668); tools that Debian ships too old (Node) are installed
# into .tools/ from the npm registry. scripts/env.sh puts .venv and .tools on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

PURPOSE=${1:-test}
case "$PURPOSE" in serve | test) ;; *) echo "usage: scripts/setup.sh [serve|test]" >&2; exit 64 ;; esac

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf '\nsetup: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "installing system packages needs root: run as root, or install sudo, then run this again (wanted: $*)"
  fi
}

APT_UPDATED=""
# Installs the Debian packages among "$@" that are not installed yet.
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]}, and this is not a Debian system (no apt-get): install them yourself"
  log "apt: installing ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# "1.92" from the workspace's rust-version: the oldest Rust that builds glassbox.
min_rust() { sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml; }

# True when version $1 >= version $2 (dotted numbers).
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# Rust through rustup (Debian's cargo is far older than the workspace's rust-version).
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    apt_install ca-certificates curl
    log "rustup: installing the stable Rust toolchain into ~/.cargo"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --no-modify-path \
      || die "could not install Rust with rustup; install it by hand (https://rustup.rs) and run this again"
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  local have want
  have=$(rustc --version | awk '{print $2}')
  want=$(min_rust)
  if ! version_ge "$have" "$want"; then
    command -v rustup >/dev/null 2>&1 || die "Rust $have is older than $want and was not installed by rustup: install Rust >= $want with rustup (https://rustup.rs)"
    log "rustup: Rust $have is older than $want; updating stable"
    rustup update stable
  fi
}

# A C compiler and linker: several crates build C code.
ensure_cc() {
  command -v cc >/dev/null 2>&1 || apt_install build-essential
}

# `cargo install` for build tools: their own release profiles (trunk's is fat LTO with one
# codegen unit: 20 minutes here) buy run-time speed a build tool does not need.
cargo_install_quick() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install "$@"
}

ensure_wasm_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "rustup: adding wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  local trunk_version=0.21.14 wb_version
  if ! trunk --version 2>/dev/null | grep -q "$trunk_version"; then
    log "cargo install trunk $trunk_version (about 6 minutes on 2 cores, once)"
    # No default features: glassbox builds offline with the wasm-bindgen installed below, so
    # neither the update check nor the TLS stack is needed.
    cargo_install_quick trunk --version "$trunk_version" --locked --no-default-features
  fi
  wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  [ -n "$wb_version" ] || die "could not read the wasm-bindgen version from Cargo.lock"
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$wb_version"; then
    log "cargo install wasm-bindgen-cli $wb_version"
    # Without --locked: the CLI's own lock names a webpki-roots release the registry no longer serves.
    cargo_install_quick wasm-bindgen-cli --version "$wb_version"
  fi
  grep -q "wasm_bindgen = \"$wb_version\"" Trunk.toml || die "Trunk.toml pins a wasm_bindgen other than $wb_version (Cargo.lock): update it"
}

ensure_lint_tools() {
  local c
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || { log "rustup: adding $c"; rustup component add "$c"; }
  done
}

ensure_system_packages() {
  # chromium: the e2e browser; mesa-vulkan-drivers + libvulkan1: lavapipe for the wgpu tests;
  # fonts-dejavu-core: the charts' text; wordnet-base: EDA augmentation's synonyms;
  # python3-venv: the reference's venv; prometheus: promtool checks the exported alert rules;
  # wrk: the serving load test; curl: the API contract script; apertium-eng-spa: back-translation.
  apt_install chromium mesa-vulkan-drivers libvulkan1 fonts-dejavu-core wordnet-base python3 python3-venv \
    prometheus wrk curl apertium-eng-spa
}

# .venv with every requirements file the tests read; reinstalled only when one changes.
ensure_venv() {
  local reqs=(tests/reference/requirements.txt) stamp=.venv/.requirements.sha256 want
  [ -f tests/api/requirements.txt ] && reqs+=(tests/api/requirements.txt)
  [ -f tests/mlflow/requirements.txt ] && reqs+=(tests/mlflow/requirements.txt)
  [ -x .venv/bin/python ] || { log "python: creating .venv"; python3 -m venv .venv; }
  want=$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "pip (.venv): installing ${reqs[*]}"
    .venv/bin/python -m pip install --disable-pip-version-check -q $(printf -- '-r %s ' "${reqs[@]}")
    echo "$want" > "$stamp"
  fi
  # Its python3 (and pip, which `glassbox fetch` downloads the assets with) first on PATH.
  . scripts/env.sh
}

# Node >= 20 for the e2e runner: Debian 12's is 18, so a newer one comes from the npm registry.
NODE_PIN=22.23.5
ensure_node() {
  command -v node >/dev/null 2>&1 || apt_install nodejs npm
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    local arch
    case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) die "Node $major is too old (need >= 20) and no npm build exists for $(uname -m): install Node >= 20 yourself" ;; esac
    log "npm: Node $major is older than 20; installing node-linux-$arch@$NODE_PIN into .tools/node"
    npm install --no-audit --no-fund --prefix .tools/node "node-linux-$arch@$NODE_PIN"
    . scripts/env.sh
  fi
  if [ ! -d e2e/node_modules/playwright-core ]; then
    log "npm: installing e2e packages"
    (cd e2e && npm ci --no-audit --no-fund)
  fi
}

# cargo-fuzz for the bounded fuzz run (scripts/fuzz.sh). It builds the targets with coverage
# instrumentation on the stable compiler (`-s none`: no sanitizer, which would need nightly).
ensure_fuzz_tools() {
  local version=0.13.2
  if ! cargo fuzz --version 2>/dev/null | grep -q "$version"; then
    log "cargo install cargo-fuzz $version"
    cargo_install_quick cargo-fuzz --version "$version" --locked
  fi
}

ensure_assets() {
  log "assets: glassbox fetch"
  cargo run --release -q -p glassbox-trainer -- fetch --assets assets
}

ensure_cc
ensure_rust
ensure_wasm_tools
if [ "$PURPOSE" = test ]; then
  ensure_lint_tools
  ensure_system_packages
  ensure_venv
  ensure_node
  ensure_fuzz_tools
  ensure_assets
fi
