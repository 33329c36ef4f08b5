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
target/debug/tailor "${args[@]}" &
server=$!
trap 'kill "$server" 2>/dev/null' INT TERM EXIT
# A Studio link for the demo (docs/studio.md), once the server has made its signing key.
for _ in $(seq 1 100); do
  curl -fs http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
  sleep 0.1
done
if link=$(target/debug/tailor studio link --site demo --role publish --ttl 8h --who demo --path / 2>&1 | head -1); then
  echo "Tailor Studio (role publish, 8 hours): $link"
else
  echo "no Studio link: $link" >&2
fi
wait "$server"
