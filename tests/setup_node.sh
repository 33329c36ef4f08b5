#!/usr/bin/env bash
# Tests scripts/node.sh, the Node selection of scripts/setup.sh, on its three paths without
# touching the machine's own node: a supported node on PATH is used as it is; a too-old one
# (a stand-in printing v18.20.4, Debian 12's version) and no node at all (a PATH holding only
# the few commands the script needs) both get Node from PyPI, installed into a scratch
# directory that is deleted afterwards. Bounded: each run has a time limit.
#
#   bash tests/setup_node.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=$(mktemp -d /tmp/tailor-node-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
recent() { # recent DIR: DIR/node is 20.19 or later and DIR/npm runs
  local v
  v=$("$1/node" -p 'process.versions.node') || return 1
  "$1/node" -e 'const [a, b] = process.argv[1].split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' "$v" &&
    "$1/npm" --version >/dev/null
}
export TAILOR_NODE_HOME="$scratch/home"

echo "== a supported node on PATH is used as it is"
if command -v node >/dev/null && command -v npm >/dev/null && recent "$(dirname "$(command -v node)")"; then
  dir=$(timeout 60 bash scripts/node.sh 2>"$scratch/err")
  [ "$dir" = "$(dirname "$(command -v node)")" ] || fail "expected $(dirname "$(command -v node)"), got $dir"
  grep -q "using v" "$scratch/err" || fail "no 'using' message: $(cat "$scratch/err")"
  [ ! -e "$TAILOR_NODE_HOME" ] || fail "installed although a supported node was there"
else
  echo "(skipped: this machine's node is not a supported one)"
fi

echo "== a too-old node gets Node from PyPI, with a clear message"
mkdir -p "$scratch/old"
printf '#!/bin/sh\necho v18.20.4\n' >"$scratch/old/node"
printf '#!/bin/sh\necho 9.2.0\n' >"$scratch/old/npm"
chmod +x "$scratch/old/node" "$scratch/old/npm"
dir=$(PATH="$scratch/old:$PATH" timeout 600 bash scripts/node.sh 2>"$scratch/err") || fail "node.sh failed: $(cat "$scratch/err")"
grep -q "v18.20.4 at $scratch/old/node is older than 20.19" "$scratch/err" || fail "unclear message: $(cat "$scratch/err")"
case "$dir" in "$TAILOR_NODE_HOME"/*) ;; *) fail "not installed under $TAILOR_NODE_HOME: $dir" ;; esac
recent "$dir" || fail "$dir/node is not a supported Node"

echo "== no node on PATH: the Node from PyPI is found again (not reinstalled)"
mkdir -p "$scratch/bin"
python=$(python3 -c 'import sys; print(sys.executable)')
for c in bash dirname id rm mkdir ln chmod; do ln -s "$(command -v "$c")" "$scratch/bin/$c"; done
ln -s "$python" "$scratch/bin/python3"
PATH="$scratch/bin" command -v node >/dev/null && fail "the stripped PATH still has a node"
again=$(PATH="$scratch/bin" "$(command -v timeout)" 120 "$(command -v bash)" scripts/node.sh 2>"$scratch/err") || fail "node.sh failed: $(cat "$scratch/err")"
grep -q "no node on PATH" "$scratch/err" || fail "no 'no node' message: $(cat "$scratch/err")"
grep -q "present in" "$scratch/err" || fail "reinstalled: $(cat "$scratch/err")"
[ "$again" = "$dir" ] || fail "expected $dir, got $again"

echo "== the chosen Node runs the e2e test runner's options"
"$dir/node" --test --test-concurrency=1 "$root/tests/e2e/harness.mjs" >/dev/null 2>&1 ||
  fail "$dir/node cannot run node --test --test-concurrency=1"
echo "node selection: all paths pass"
