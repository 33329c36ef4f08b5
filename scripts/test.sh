#!/usr/bin/env bash
# Sets everything up and runs every test:
#   format and lint -> native tests (engine, server on SQLite and PostgreSQL, CLI) ->
#   SDK build -> browser tests (wasm-bindgen-test, headless Chromium) -> type check of the
#   npm package -> end-to-end tests of the demo pages against the real server.
#
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
t0=$(date +%s)

step "setup"
bash scripts/setup.sh
# shellcheck disable=SC1091
source .tailor/toolchain.env

# The browser tests: tests/web*.rs (every other test file is native-only).
web_tests=$(for f in tests/web*.rs; do printf -- '--test %s ' "$(basename "$f" .rs)"; done)

step "Node selection (scripts/node.sh: present, too old, absent)"
bash tests/setup_node.sh

step "format and lint"
cargo fmt --all -- --check
cargo clippy --quiet --workspace --all-targets -- -D warnings
if [ "$TAILOR_WASM_MODE" = rustup ]; then
  # shellcheck disable=SC2086
  cargo clippy --quiet --lib $web_tests --target wasm32-unknown-unknown -- -D warnings
elif [ -x /usr/bin/cargo-clippy ]; then
  # Debian's toolchain: its own clippy (rust-web-clippy), with the wasm tests' env and build-std.
  # shellcheck disable=SC2086
  env ${TAILOR_WASM_ENV[@]+"${TAILOR_WASM_ENV[@]}"} CARGO_TARGET_DIR="$TAILOR_WASM_TARGET_DIR" \
    /usr/bin/cargo-clippy clippy --quiet --lib $web_tests --target wasm32-unknown-unknown \
    ${TAILOR_WASM_CARGO_FLAGS[@]+"${TAILOR_WASM_CARGO_FLAGS[@]}"} -- -D warnings
else
  echo "NOTE: the wasm32 lint is SKIPPED: the tests use Debian's toolchain and its clippy" \
    "(rust-web-clippy, installed by scripts/setup.sh) is missing"
fi

step "supply chain (scripts/audit.sh: cargo deny, npm audit)"
bash scripts/audit.sh

step "PostgreSQL for the server tests"
TAILOR_TEST_PG_URL=$(bash scripts/pg.sh start)
export TAILOR_TEST_PG_URL
trap 'bash scripts/pg.sh stop >/dev/null 2>&1 || true' EXIT
echo "$TAILOR_TEST_PG_URL"

step "statistics fixtures: tests/stats/fixtures.json is what SciPy computes"
.tailor/py/bin/python tests/stats/fixtures.py --check

step "native tests (engine, server, CLI)"
cargo test --workspace
# The workspace build turns on the engine's `reason-text` (the server and the Studio read reasons
# as sentences); the shopper's module gives reason codes. These run the engine as it ships.
step "native tests of the engine without reason-text (reason codes, as in the shopper's module)"
cargo test -p tailor --lib --test engine_vectors --test engine_pages --test hostile_input --test typescript_types

step "fuzzing (20 s per target: the engine's rulesets and conditions, the server's batches)"
bash scripts/fuzz.sh 20

step "build the SDK"
bash scripts/build.sh

step "browser tests (wasm-bindgen-test in headless Chromium)"
wasm_test=(env ${TAILOR_WASM_ENV[@]+"${TAILOR_WASM_ENV[@]}"} CARGO_TARGET_DIR="$TAILOR_WASM_TARGET_DIR"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="node $PWD/tests/wasm_runner.mjs"
  cargo test --target wasm32-unknown-unknown ${TAILOR_WASM_CARGO_FLAGS[@]+"${TAILOR_WASM_CARGO_FLAGS[@]}"})
# shellcheck disable=SC2086
"${wasm_test[@]}" --no-run $web_tests
# One file at a time, each bounded. tests/wasm_runner.mjs drives Chromium; it says in the
# log when it had to load a test page again (see its header for why).
for f in tests/web*.rs; do
  name=$(basename "$f" .rs)
  if ! timeout --kill-after=10 300 "${wasm_test[@]}" --test "$name"; then
    echo "browser tests failed: $name"
    exit 1
  fi
done

step "TypeScript declarations (tsc --noEmit on a consumer)"
node_modules/.bin/tsc -p tests/types/tsconfig.json

step "end-to-end tests (real server, headless Chromium)"
cargo build --quiet -p tailor-server
# Explicit files: Node 22 and later refuse a directory argument to --test.
node --test --test-concurrency=1 tests/e2e/*.test.mjs

echo "all tests passed in $(( $(date +%s) - t0 )) s"
