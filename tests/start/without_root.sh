#!/usr/bin/env bash
# `npm start` for someone who only wants the playground: its set-up must build and serve the page
# without root and without the test tools. Runs scripts/start.sh with a PATH made of links to every
# program on today's PATH except sudo, apt-get, apt, chromium, chromedriver and python3 (so they are
# absent, as on such a machine) and with `id -u` answering 1000; then fetches the page and the page's
# wasm from the server it starts.
# Usage: tests/start/without_root.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${1:-18093}
shims=$(mktemp -d)
bin=$shims/bin
mkdir "$bin"
real_id=$(command -v id)
printf '#!/bin/sh\n[ "$1" = -u ] && { echo 1000; exit 0; }\nexec %s "$@"\n' "$real_id" > "$bin/id"
chmod +x "$bin/id"
IFS=: read -r -a dirs <<< "$HOME/.cargo/bin:$PATH"
for dir in "${dirs[@]}"; do
  [[ -d $dir ]] || continue
  for prog in "$dir"/*; do
    name=${prog##*/}
    case $name in sudo|apt-get|apt|chromium|chromedriver|python3|python3.*) continue ;; esac
    [[ -x $prog && ! -e $bin/$name ]] && ln -s "$prog" "$bin/$name"
  done
done
log=$shims/start.log
PATH="$bin" HOME="$HOME" PORT=$port setsid bash scripts/start.sh > "$log" 2>&1 &
pid=$!
cleanup() { kill -- -"$pid" 2>/dev/null || true; rm -rf "$shims"; }
trap cleanup EXIT
fail() { echo "npm start without root: $*" >&2; tail -20 "$log" >&2; exit 1; }
for _ in $(seq 1 900); do
  curl -sf "http://127.0.0.1:$port/" -o "$shims/index.html" && break
  kill -0 "$pid" 2>/dev/null || fail "scripts/start.sh exited before serving"
  sleep 1
done
[[ -s $shims/index.html ]] || fail "nothing served on port $port after 15 minutes"
grep -q 'ptq_playground' "$shims/index.html" || grep -q 'www/main.js' "$shims/index.html" \
  || fail "the served index.html is not the playground's"
curl -sf "http://127.0.0.1:$port/pkg/ptq_playground_bg.wasm" -o "$shims/page.wasm" || fail "no wasm served"
[[ $(head -c 4 "$shims/page.wasm" | od -An -tx1 | tr -d ' ') == 0061736d ]] || fail "the served wasm is not wasm"
echo "npm start without root: served the page and its wasm without sudo, apt-get, chromium, chromedriver or python3"
