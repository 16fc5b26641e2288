#!/usr/bin/env bash
# Create .venv with the official LiteRT interpreter (PyPI ai-edge-litert) and ONNX Runtime (its
# calibration histograms are the oracle for ours) for the cross-checking tests.
# Idempotent: does nothing when the pinned versions are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
LITERT_VERSION=2.3.0
ORT_VERSION=1.32.0
if [[ -x .venv/bin/python ]] && .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('ai-edge-litert') != '$LITERT_VERSION' or m.version('onnxruntime') != '$ORT_VERSION')" 2>/dev/null; then
  exit 0
fi
echo "setup: .venv with ai-edge-litert==$LITERT_VERSION and onnxruntime==$ORT_VERSION"
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "ai-edge-litert==$LITERT_VERSION" "onnxruntime==$ORT_VERSION" onnx numpy
