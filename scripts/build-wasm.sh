#!/usr/bin/env bash
# Build the wasm package into pkg/ (wasm-pack --target web, Cargo profile `wasm-release`), then optimize
# it with wasm-opt from the npm package `binaryen` (Debian's binaryen 108 mis-numbers wasm-bindgen's
# externref table: the module then fails to instantiate). The features passed are the ones the Rust
# output uses (simd128 from .cargo/config.toml, reference types from the target's defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
wasm-pack --quiet build --target web --profile wasm-release --no-opt --out-dir pkg --no-pack
wasm=pkg/ptq_playground_bg.wasm
before=$(stat -c %s "$wasm")
node_modules/.bin/wasm-opt -O3 \
  --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-multivalue --enable-reference-types \
  "$wasm" -o "$wasm.opt"
mv "$wasm.opt" "$wasm"
echo "build-wasm: $wasm $before -> $(stat -c %s "$wasm") bytes ($(gzip -9 -c "$wasm" | wc -c) gzip -9)" >&2
