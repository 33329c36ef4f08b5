#!/usr/bin/env bash
# Checks the locked dependencies (Cargo.lock, package-lock.json):
#   cargo deny check licenses bans sources   licenses, duplicates/wildcards, sources (deny.toml; no network)
#   cargo deny check advisories              RustSec advisories: its database comes from GitHub
#                                            when GitHub answers within 10 s; else from a local
#                                            git snapshot of it named by TAILOR_RUSTSEC_DB (its
#                                            date is printed); else SKIPPED with a note
#                                            (TAILOR_AUDIT_STRICT=1: fail)
#   npm audit                                npm advisories, from the npm registry (SKIPPED with
#                                            a note when the registry refuses the advisory request)
#
#   bash scripts/audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-deny >/dev/null || { echo "audit.sh: cargo-deny missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
cargo deny --log-level error check licenses bans sources
echo "cargo deny: licenses, bans, sources ok"
# Where cargo-deny 0.20 keeps its default database (a git clone; the suffix is its hash of
# the database's URL). --offline makes it use that clone as it is.
rustsec_dir="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-3157b0e258782691"
if timeout 10 git ls-remote --exit-code https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
  cargo deny --log-level error check advisories
  echo "cargo deny: advisories ok"
elif [ -n "${TAILOR_RUSTSEC_DB:-}" ] && git -C "$TAILOR_RUSTSEC_DB" rev-parse --verify -q HEAD >/dev/null; then
  # A snapshot of the database (a clone or mirror of rustsec/advisory-db): cloned afresh into
  # cargo-deny's place each run, so the check never reads a copy older than the snapshot.
  rm -rf "$rustsec_dir"
  mkdir -p "$(dirname "$rustsec_dir")"
  git clone --quiet "$TAILOR_RUSTSEC_DB" "$rustsec_dir"
  db_date=$(git -C "$rustsec_dir" show -s --format=%cs HEAD)
  cargo deny --offline --log-level error check advisories
  echo "cargo deny: advisories ok, against the RustSec database as of $db_date (the snapshot in \$TAILOR_RUSTSEC_DB;" \
    "GitHub does not answer from this machine)"
else
  echo "NOTE: cargo deny check advisories is SKIPPED: the RustSec database is fetched from GitHub," \
    "which does not answer from this machine (TAILOR_RUSTSEC_DB=<a git snapshot of rustsec/advisory-db> checks against it)"
  if [ "${TAILOR_AUDIT_STRICT:-0}" = 1 ]; then exit 1; fi
fi
# The registry's advisory endpoint answers 405 from some networks (a mirror or proxy without
# it): that is reported as SKIPPED, never as a pass; a real finding fails.
set +e
npm_out=$(npm audit --audit-level=low 2>&1)
npm_rc=$?
set -e
if [ $npm_rc = 0 ]; then
  echo "npm audit: no known vulnerability in package-lock.json"
elif grep -q "audit endpoint returned an error" <<<"$npm_out"; then
  echo "NOTE: npm audit is SKIPPED: the registry's advisory endpoint refused the request:" \
    "$(grep -m1 'npm warn audit' <<<"$npm_out" || true)"
  if [ "${TAILOR_AUDIT_STRICT:-0}" = 1 ]; then exit 1; fi
else
  echo "$npm_out"
  exit 1
fi
