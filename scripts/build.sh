#!/usr/bin/env bash
# Builds the SDK: Rust -> wasm32 -> wasm-bindgen -> wasm-opt -> pkg/ (npm package) and
# pkg/dist/ (script-tag build), then prints the size table. Run scripts/setup.sh first.
#
#   bash scripts/build.sh            release build
#   bash scripts/build.sh --no-opt   skip wasm-opt (faster, larger)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m[build]\033[0m %s\n' "$*"; }

[ -f .tailor/toolchain.env ] || { echo "run scripts/setup.sh first" >&2; exit 1; }
# shellcheck disable=SC1091
source .tailor/toolchain.env
opt=1
[ "${1:-}" = "--no-opt" ] && opt=0

say "cargo build --release (wasm32, $TAILOR_RELEASE_MODE)"
env ${TAILOR_RELEASE_ENV[@]+"${TAILOR_RELEASE_ENV[@]}"} CARGO_TARGET_DIR="$TAILOR_RELEASE_TARGET_DIR" \
  RUSTFLAGS="$TAILOR_RELEASE_RUSTFLAGS" \
  cargo build --quiet --release --lib --target wasm32-unknown-unknown ${TAILOR_RELEASE_FLAGS[@]+"${TAILOR_RELEASE_FLAGS[@]}"}
raw="$TAILOR_RELEASE_TARGET_DIR/wasm32-unknown-unknown/release/tailor.wasm"

say "wasm-bindgen"
rm -rf pkg
mkdir -p pkg/wasm pkg/dist
wasm-bindgen "$raw" --target web --out-dir pkg/wasm --out-name tailor --omit-default-module-path

if [ "$opt" = 1 ]; then
  say "wasm-opt -Oz"
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    pkg/wasm/tailor_bg.wasm -o pkg/wasm/tailor_bg.wasm
fi

say "assembling pkg/ from pkg-template/"
cp -R pkg-template/. pkg/
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
sed -i "s/\"version\": \"0.0.0\"/\"version\": \"$version\"/" pkg/package.json

say "script-tag build (esbuild)"
node_modules/.bin/esbuild pkg/src/script-tag.js --bundle --minify --format=iife --target=es2020 \
  --outfile=pkg/dist/tailor.js --log-level=warning
cp pkg/wasm/tailor_bg.wasm pkg/dist/tailor_bg.wasm
# The head snippet against flicker (docs/sdk.md, "Page changes"): tiny, so it is a file of its own.
node_modules/.bin/esbuild pkg/src/hide.js --minify --target=es2020 --outfile=pkg/dist/tailor-hide.js --log-level=warning
# What a bundler user ships: the ESM entry minified the same way, for the size table only.
node_modules/.bin/esbuild pkg/index.js --bundle --minify --format=esm --target=es2020 \
  --outfile=.tailor/esm-bundle.js --log-level=warning --external:'*.wasm'

# Size budget (total gzip -9 of the script-tag files): what the build reached plus 5%, so the
# size cannot grow back silently. Lower it when the SDK gets smaller; see docs/size.md.
node scripts/size.mjs --budget-kb 142 pkg/dist/tailor-hide.js pkg/dist/tailor.js pkg/dist/tailor_bg.wasm
