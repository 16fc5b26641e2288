#!/usr/bin/env bash
# Build the wasm packages with wasm-pack --target web (see the profiles in Cargo.toml):
#   pkg/          profile wasm-small (opt-level z), without the `training`, `worker`, `fusion` and
#                 `int16` features: the page's module (drawings, quantization, uploads)
#   pkg/fast/     profile wasm-release (opt-level 3), with `worker`, `fusion` and `int16`: the worker's
#                 module (evaluation, conversions with every setting, the comparison of conversions,
#                 16x8). wasm-opt -O1 only: -O2/-O3/-Os inline the int8 kernels into much larger
#                 functions, which V8 runs slower (evaluating 10,000 images in Node 20 on one core:
#                 cold 0.67 s at -O3 vs 0.27 s at -O1, warm 0.18 s vs 0.16 s; training the same).
#                 Without `training`: the trainer, its `Trainer` bindings and the model designer's
#                 questions are left out (the training modules have them); without `inside`: the views
#                 inside a quantization are left out (pkg/inside/ has them).
#   pkg/inside/   the same with `inside` too: the views inside a quantization, which the worker loads
#                 when the inside panel is first opened
#   pkg/train/    the training module (feature `trainer-only`): only the `Trainer` bindings, which the
#                 worker trains with and its helper workers compute their shares with, and the model
#                 designer's questions; no interpreter, no converter
#   pkg/train-relaxed/  the training module again, with relaxed SIMD too: the trainer's multiply-adds
#                 become `f32x4.relaxed_madd` (src/train/wasm_simd/). Browsers that have relaxed SIMD
#                 run it (www/wasm-build.js); it has its own target directory, so that the different
#                 flags do not rebuild the others each time.
# then optimize each with wasm-opt from the npm package `binaryen` (Debian's binaryen 108 mis-numbers
# wasm-bindgen's externref table: the module then fails to instantiate). The features passed are the
# ones the Rust output uses (simd128 from .cargo/config.toml, reference types from the target's defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

build() { # build PROFILE OUT_DIR WASM_OPT_LEVEL [CARGO_FEATURES] [EXTRA_WASM_OPT_FEATURE]
  wasm-pack --quiet build --target web --profile "$1" --no-opt --out-dir "$2" --no-pack \
    -- --no-default-features ${4:+--features "$4"}
  local wasm=$2/ptq_playground_bg.wasm before
  before=$(stat -c %s "$wasm")
  node_modules/.bin/wasm-opt "$3" \
    --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-multivalue --enable-reference-types ${5:+"$5"} \
    "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
  rm -f "$2/.gitignore" "$2"/*.d.ts
  echo "build-wasm: $wasm ($1) $before -> $(stat -c %s "$wasm") bytes ($(gzip -9 -c "$wasm" | wc -c) gzip -9)" >&2
}
rm -rf pkg
build wasm-small pkg -Oz
build wasm-release pkg/fast -O1 worker,fusion,int16
build wasm-release pkg/inside -O1 inside,fusion,int16
build wasm-release pkg/train -O1 trainer-only
TARGET=$(realpath -m "${CARGO_TARGET_DIR:-target}")
CARGO_TARGET_DIR="$TARGET/relaxed" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  build wasm-release pkg/train-relaxed -O1 trainer-only --enable-relaxed-simd
