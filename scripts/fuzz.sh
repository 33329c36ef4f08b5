#!/usr/bin/env bash
# Runs the cargo-fuzz targets for SECONDS each (default 20): ruleset and condition parsing,
# the shopper's lean ruleset loader against the full validator (fuzz/) and the server's event-batch parser (server/fuzz/). Fails on any crash or panic.
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
#
# Both fuzz workspaces build into one target dir (target/fuzz), and the server's target
# compiles only ingest.rs and the event row from the server's sources (server/fuzz/src/lib.rs),
# not the whole server: its sanitizer build reuses the engine's and takes seconds, where
# depending on tailor-server (HTTP, SQLite, PostgreSQL, TLS) took over 10 minutes.
#
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" RUSTC_BOOTSTRAP=1
seconds=${1:-20}
target_dir="$PWD/target/fuzz"
run() {
  local dir=$1 target=$2 started
  # New inputs go to target/fuzz/corpus (first directory); the checked-in seeds are read only.
  mkdir -p "$dir/corpus/$target" "$target_dir/corpus/$target"
  # The ruleset targets start from the demo's ruleset (a valid one the fuzzer then mutates).
  case $target in ruleset*) cp www/ruleset.json "$target_dir/corpus/$target/seed-demo-ruleset.json" ;; esac
  started=$(date +%s)
  (cd "$dir" && cargo fuzz build --target-dir "$target_dir" "$target" 2>&1 | { grep -E "^error|warning: unused" || true; })
  echo "fuzz $dir $target: built in $(($(date +%s) - started))s, running for ${seconds}s"
  # cargo fuzz exits non-zero on a crash; pipefail carries that through the filter.
  (cd "$dir" && cargo fuzz run --target-dir "$target_dir" "$target" "$target_dir/corpus/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 2>&1) |
    { grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss)|panicked|ERROR|SUMMARY" || true; }
}
run fuzz ruleset
run fuzz ruleset_lean
run fuzz condition
for t in server/fuzz/fuzz_targets/*.rs; do run server/fuzz "$(basename "$t" .rs)"; done
