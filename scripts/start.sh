#!/usr/bin/env bash
# `npm start`: set up, build, and run the main job — train the tutorial's model and replay the tutorial
# (five .tflite files, their I/O types, sizes and accuracies).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
cargo build --release --quiet --bin ptq
exec target/release/ptq tutorial --out mnist_tflite_models "$@"
