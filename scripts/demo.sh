#!/usr/bin/env bash
# Sets everything up, builds the SDK and the server, and serves the demo storefront at
# http://127.0.0.1:8080 with the reference server on SQLite (.tailor/tailor.db). Ctrl-C stops it.
#
#   bash scripts/demo.sh [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TAILOR_SETUP_FUZZ=0 bash scripts/setup.sh
bash scripts/build.sh
# The debug build: compiled already by the tests, and quick enough to serve a demo.
cargo build --quiet -p tailor-server
args=(serve --www www --pkg pkg --site demo --ruleset www/ruleset.json "$@")
echo "Demo storefront: http://127.0.0.1:8080/"
exec target/debug/tailor "${args[@]}"
