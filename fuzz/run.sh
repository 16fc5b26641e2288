#!/usr/bin/env bash
# Run a fuzz target with cargo-fuzz (libFuzzer + AddressSanitizer), seeded with TF's and our fixture
# files. cargo-fuzz needs nightly features; the stable toolchain is allowed to use them here through
# RUSTC_BOOTSTRAP=1 (the only toolchain this machine can install).
# Usage: fuzz/run.sh tflite|idx SECONDS      (findings go to fuzz/artifacts/<target>/)
# After a run, copy any crash input into tests/fixtures/fuzz-regressions/<target>/ so `cargo test`
# replays it (tests/fuzz_regressions.rs).
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?target: tflite or idx}
seconds=${2:-1800}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
corpus=corpus/$target
mkdir -p "$corpus"
case $target in
  tflite) cp -n ../tests/fixtures/reference/*.tflite ../tests/fixtures/ops/*.tflite \
    ../tests/fixtures/int16x8/*.tflite "$corpus/" 2>/dev/null || true ;;
  idx) ;; # the seeds (heads of the MNIST test files) are committed in the regression folder
esac
cp -n ../tests/fixtures/fuzz-regressions/"$target"/* "$corpus/" 2>/dev/null || true
RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$corpus" -O -- \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1
