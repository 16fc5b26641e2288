#!/usr/bin/env bash
# Benchmark: the trainer's SIMD128 kernels against their portable twins in Node's V8, on the
# tutorial's shapes (bench/wasm_kernels.rs), built as the worker's wasm is (profile wasm-release,
# simd128 from .cargo/config.toml). Prints milliseconds per call of each and the speed-up. Not run by CI.
# Usage: bench/wasm_kernels.sh [--epoch] [--relaxed]
#   --epoch    also time one training epoch, see the .mjs
#   --relaxed  build as pkg/train-relaxed/ is (relaxed SIMD too: the multiply-adds may be fused),
#              in its own target directory, and run Node with relaxed SIMD enabled (Node 20 has it
#              behind a flag; browsers have it on)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TARGET=$(realpath -m "${CARGO_TARGET_DIR:-target}")
args=() node_flags=() name=bench-wasm-kernels
for a in "$@"; do
  if [[ $a == --relaxed ]]; then
    TARGET=$TARGET/relaxed name=bench-wasm-kernels-relaxed node_flags=(--experimental-wasm-relaxed-simd)
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd"
  else
    args+=("$a")
  fi
done
CARGO_TARGET_DIR=$TARGET cargo build --quiet --profile wasm-release --target wasm32-unknown-unknown \
  --no-default-features --features training --example wasm_kernels
OUT="${PTQ_BENCH_OUT:-$TARGET/$name}"
wasm-bindgen --target nodejs --out-dir "$OUT" \
  "$TARGET/wasm32-unknown-unknown/wasm-release/examples/wasm_kernels.wasm"
exec node "${node_flags[@]}" bench/wasm_kernels.mjs "$OUT/wasm_kernels.js" "${args[@]}"
