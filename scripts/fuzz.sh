#!/usr/bin/env bash
# Runs the cargo-fuzz targets for SECONDS each (default 20): ruleset and condition parsing
# (fuzz/), and with --all also the server's event-batch parser (server/fuzz/, whose first
# sanitizer build of the whole server takes ~10 minutes; `cargo test` always runs its native
# fuzz smoke test). Fails on any crash or panic. cargo-fuzz needs nightly features;
# RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
#
#   bash scripts/fuzz.sh [SECONDS] [--all]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" RUSTC_BOOTSTRAP=1
seconds=${1:-20}
run() {
  local dir=$1 target=$2
  mkdir -p "$dir/corpus/$target"
  echo "fuzz $dir $target for ${seconds}s"
  # cargo fuzz exits non-zero on a crash; pipefail carries that through the filter.
  (cd "$dir" && cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 2>&1) |
    { grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss)|panicked|ERROR|SUMMARY" || true; }
}
run fuzz ruleset
run fuzz condition
if [ "${2:-}" = "--all" ]; then
  for t in server/fuzz/fuzz_targets/*.rs; do run server/fuzz "$(basename "$t" .rs)"; done
fi
