#!/usr/bin/env bash
# Benchmark: the trainer's SIMD128 kernels against their portable twins in Node's V8, on the
# tutorial's shapes (bench/wasm_kernels.rs), built as the worker's wasm is (profile wasm-release,
# simd128 from .cargo/config.toml). Prints milliseconds per call of each and the speed-up. Not run by CI.
# Usage: bench/wasm_kernels.sh [--epoch]   (--epoch: also time one training epoch, see the .mjs)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TARGET=$(realpath -m "${CARGO_TARGET_DIR:-target}")
cargo build --quiet --profile wasm-release --target wasm32-unknown-unknown --no-default-features \
  --features training --example wasm_kernels
OUT="${PTQ_BENCH_OUT:-$TARGET/bench-wasm-kernels}"
wasm-bindgen --target nodejs --out-dir "$OUT" \
  "$TARGET/wasm32-unknown-unknown/wasm-release/examples/wasm_kernels.wasm"
exec node bench/wasm_kernels.mjs "$OUT/wasm_kernels.js" "$@"
