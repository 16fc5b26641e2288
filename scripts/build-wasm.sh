#!/usr/bin/env bash
# Build the wasm package into pkg/ (wasm-pack --target web), then optimize it with wasm-opt, passing
# the WebAssembly features the Rust output uses (Debian's binaryen 108 does not enable them itself).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
wasm-pack build --target web --release --out-dir pkg --no-pack --quiet
wasm=pkg/ptq_playground_bg.wasm
before=$(stat -c %s "$wasm")
wasm-opt -O3 \
  --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-multivalue --enable-reference-types \
  "$wasm" -o "$wasm.opt"
mv "$wasm.opt" "$wasm"
echo "build-wasm: $wasm $before -> $(stat -c %s "$wasm") bytes ($(gzip -9 -c "$wasm" | wc -c) gzip)" >&2
