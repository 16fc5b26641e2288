#!/usr/bin/env bash
# Benchmark: the playground's budgets and figures in headless Chromium (bench/page.mjs): page weight,
# time to both models ready, per-drawing inference, evaluating 10,000 images, and training EPOCHS
# epochs in the page against Keras (TensorFlow 2.21) on the same machine in the same run.
#
# Builds the site first (npm run build; warm rebuilds are quick). TensorFlow is installed into
# bench/.venv-tf on first use (PyPI tensorflow-cpu==2.21.0); set PTQ_TF_PYTHON to an existing
# interpreter with TensorFlow to skip that. Not run by CI.
# Usage: bench/page.sh [EPOCHS]   (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-1}
bash scripts/build-site.sh
PY=${PTQ_TF_PYTHON:-bench/.venv-tf/bin/python}
if [[ ! -x $PY ]]; then
  echo "bench: installing tensorflow-cpu==2.21.0 into bench/.venv-tf" >&2
  python3 -m venv bench/.venv-tf
  bench/.venv-tf/bin/pip install --quiet --disable-pip-version-check tensorflow-cpu==2.21.0
fi
exec node bench/page.mjs --epochs "$EPOCHS" --keras-python "$PY"
