#!/usr/bin/env bash
# `npm start`: set up what building needs (no root, no browser, no Python), build the static site
# (dist/) and serve it on http://127.0.0.1:8080 until stopped (Ctrl-C). PORT=… picks another port;
# PTQ_ISOLATED=1 sends the cross-origin isolation headers (training workers then share memory).
# `ptq tutorial` replays the tutorial on the command line instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh build
PTQ_SETUP_DONE=1 bash scripts/build-site.sh
isolated=()
[ "${PTQ_ISOLATED:-}" = 1 ] && isolated=(--isolated)
exec node scripts/serve.mjs dist "${PORT:-8080}" 127.0.0.1 "${isolated[@]}"
