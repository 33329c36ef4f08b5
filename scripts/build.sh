#!/usr/bin/env bash
# Builds the SDK: Rust -> wasm32 -> wasm-bindgen -> wasm-opt -> pkg/ (npm package) and
# pkg/dist/ (script-tag build), then prints the size table. Run scripts/setup.sh first.
#
#   bash scripts/build.sh            release build
#   bash scripts/build.sh --no-opt   skip wasm-opt (faster, larger)
#   bash scripts/build.sh --studio   only the Studio (pkg/studio/), not the SDK
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
studio_only=0
[ "${1:-}" = "--studio" ] && studio_only=1

# The Studio (studio/): its own Wasm module and UI, served by the Tailor server at /studio/ and
# loaded only when a merchandiser opens a Studio link. Not part of the shopper's download, so
# not in the size budget; its own line is printed after the shopper's table.
build_studio() {
  say "Studio: cargo build --release -p tailor-studio (wasm32, $TAILOR_WASM_MODE)"
  env ${TAILOR_WASM_ENV[@]+"${TAILOR_WASM_ENV[@]}"} CARGO_TARGET_DIR="$TAILOR_WASM_TARGET_DIR" \
    cargo build --quiet --release -p tailor-studio --target wasm32-unknown-unknown ${TAILOR_WASM_CARGO_FLAGS[@]+"${TAILOR_WASM_CARGO_FLAGS[@]}"}
  rm -rf studio/ui/gen pkg/studio
  mkdir -p studio/ui/gen pkg/studio
  wasm-bindgen "$TAILOR_WASM_TARGET_DIR/wasm32-unknown-unknown/release/tailor_studio.wasm" --target web \
    --out-dir studio/ui/gen --out-name studio_engine --omit-default-module-path
  if [ "$opt" = 1 ]; then
    node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      studio/ui/gen/studio_engine_bg.wasm -o pkg/studio/tailor-studio_bg.wasm
  else
    cp studio/ui/gen/studio_engine_bg.wasm pkg/studio/tailor-studio_bg.wasm
  fi
  node_modules/.bin/esbuild studio/ui/main.js --bundle --minify --format=esm --target=es2022 --loader:.css=text \
    --outfile=pkg/studio/tailor-studio.js --log-level=warning
  node -e '
    const { readFileSync } = require("node:fs"); const { gzipSync } = require("node:zlib");
    const kb = (f) => (gzipSync(readFileSync(f), { level: 9 }).length / 1024).toFixed(1);
    console.log(`Studio (merchandisers only, not in the shopper total): tailor-studio.js ${kb("pkg/studio/tailor-studio.js")} KB + tailor-studio_bg.wasm ${kb("pkg/studio/tailor-studio_bg.wasm")} KB gzip -9`);'
}
if [ "$studio_only" = 1 ]; then
  build_studio
  exit 0
fi

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

build_studio

# Size budget (total gzip -9 of the script-tag files): what the build reached plus a small margin, so the
# size cannot grow back silently. Lower it when the SDK gets smaller; see docs/size.md.
node scripts/size.mjs --budget-kb 141.2 pkg/dist/tailor-hide.js pkg/dist/tailor.js pkg/dist/tailor_bg.wasm
