#!/usr/bin/env bash
# Checks the locked dependencies (Cargo.lock, package-lock.json):
#   cargo deny check licenses bans sources   licenses, duplicates/wildcards, sources (deny.toml; no network)
#   cargo deny check advisories              RustSec advisories: its database comes from GitHub, so
#                                            this runs only when GitHub answers within 10 s, else
#                                            it is SKIPPED with a note (TAILOR_AUDIT_STRICT=1: fail)
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
if timeout 10 git ls-remote --exit-code https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
  cargo deny --log-level error check advisories
  echo "cargo deny: advisories ok"
else
  echo "NOTE: cargo deny check advisories is SKIPPED: the RustSec database is fetched from GitHub," \
    "which does not answer from this machine"
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
