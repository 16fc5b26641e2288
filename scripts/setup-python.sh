#!/usr/bin/env bash
# Create .venv with the official LiteRT interpreter (PyPI ai-edge-litert) for the cross-checking tests.
# Idempotent: does nothing when the pinned versions are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
LITERT_VERSION=2.3.0
if [[ -x .venv/bin/python ]] && .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('ai-edge-litert') != '$LITERT_VERSION')" 2>/dev/null; then
  exit 0
fi
echo "setup: creating .venv with ai-edge-litert==$LITERT_VERSION"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "ai-edge-litert==$LITERT_VERSION" numpy
