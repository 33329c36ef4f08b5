#!/usr/bin/env bash
# Installs everything Tailor needs to build and test, on a fresh Debian 12 machine as root,
# unattended. Safe to run again: every step checks first and skips what is already there.
#
#   bash scripts/setup.sh
#
# Writes .tailor/toolchain.env, which scripts/build.sh and scripts/test.sh source: it says how
# to build for wasm32 on this machine (rustup's target, or Debian's rustc-web + build-std).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p .tailor
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

export PATH="$HOME/.cargo/bin:$PATH"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# --- Debian packages -------------------------------------------------------------------------
need_pkgs=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$1"); }
for p in chromium chromium-driver postgresql sqlite3 pkg-config gcc openssl python3; do want "$p"; done
# The other browser engines of the end-to-end tests (tests/e2e/engines.test.mjs): Firefox ESR,
# driven by puppeteer-core over WebDriver BiDi, and WebKitGTK's WebKitWebDriver, which needs
# a display: Xvfb, started by the tests.
for p in firefox-esr webkit2gtk-driver xvfb; do want "$p"; done
# Node: scripts/node.sh below (Debian 12's nodejs is 18, too old); python3-venv lets it
# install a supported Node from PyPI when the machine has none.
want python3-venv
command -v cargo >/dev/null || want cargo-web

# wasm32. Tests and lint use rustup's target when it is (or can quickly be) installed. The
# release build prefers Debian's rustc-web with the standard library built from source
# (rust-web-src), because only that allows -Cpanic=immediate-abort, which drops every panic
# message and its formatting code from the module shoppers download, and -Zfmt-debug=none
# with -Zlocation-detail=none, which drop `Debug` formatting and source locations (-1.2 KB
# gzip; the shopper's module formats no message with `{:?}`, docs/size.md).
wasm_mode=""
if [ "${TAILOR_WASM_MODE:-}" = debian ]; then
  wasm_mode=debian # forced: test the fallback a machine without rustup's target takes
elif command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  wasm_mode=rustup
elif command -v rustup >/dev/null && [ ! -f .tailor/rustup-target-failed ] \
  && timeout 60 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  wasm_mode=rustup
else
  touch .tailor/rustup-target-failed # don't wait a minute for rustup on every run
  wasm_mode=debian
fi
if command -v apt-get >/dev/null; then
  for p in rustc-web rust-web-src lld-16; do want "$p"; done
  # Debian's clippy for rustc-web: the wasm32 lint where the tests use Debian's toolchain.
  [ "$wasm_mode" = debian ] && want rust-web-clippy
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
else
  say "Debian packages present"
fi
command -v cargo >/dev/null || { [ -x /usr/bin/cargo ] && export PATH="/usr/bin:$PATH"; }

debian_env='(RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-16)'
release_mode=rustup
if [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ] && command -v wasm-ld-16 >/dev/null; then
  release_mode=debian
fi
{
  echo "# written by scripts/setup.sh"
  echo "# tests and lint: $wasm_mode"
  echo "export TAILOR_WASM_MODE=$wasm_mode"
  if [ "$wasm_mode" = rustup ]; then
    echo "export TAILOR_WASM_TARGET_DIR=\"$root/target\""
    echo "TAILOR_WASM_ENV=()"
    echo "TAILOR_WASM_CARGO_FLAGS=()"
  else
    echo "export TAILOR_WASM_TARGET_DIR=\"$root/target-wasm\""
    echo "TAILOR_WASM_ENV=$debian_env"
    echo "TAILOR_WASM_CARGO_FLAGS=(-Zbuild-std=std,panic_abort)"
  fi
  echo "# release build of the SDK: $release_mode"
  echo "export TAILOR_RELEASE_MODE=$release_mode"
  if [ "$release_mode" = debian ]; then
    echo "export TAILOR_RELEASE_TARGET_DIR=\"$root/target-wasm\""
    echo "TAILOR_RELEASE_ENV=$debian_env"
    echo "TAILOR_RELEASE_FLAGS=(-Zbuild-std=std,panic_abort)"
    echo "TAILOR_RELEASE_RUSTFLAGS='-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none'"
  else
    echo "export TAILOR_RELEASE_TARGET_DIR=\"$root/target\""
    echo "TAILOR_RELEASE_ENV=()"
    echo "TAILOR_RELEASE_FLAGS=()"
    echo "TAILOR_RELEASE_RUSTFLAGS="
  fi
} > .tailor/toolchain.env
say "wasm32: tests with $wasm_mode, release build with $release_mode"

# --- wasm-bindgen CLI, exactly the version pinned in Cargo.toml ------------------------------
wb_version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$wb_version" ]; then
  say "installing wasm-bindgen-cli $wb_version (a few minutes, once per machine)"
  # --locked is not used: one of the CLI's locked dependencies is missing from the registry.
  cargo install -q wasm-bindgen-cli --version "$wb_version"
else
  say "wasm-bindgen $wb_version present"
fi

# --- cargo-fuzz, for the short fuzzing run of the tests ------------------------------------
if [ "${TAILOR_SETUP_FUZZ:-1}" = 0 ]; then
  : # the demo does not fuzz
elif ! command -v cargo-fuzz >/dev/null; then
  say "installing cargo-fuzz (a minute or two, once per machine)"
  cargo install -q cargo-fuzz
else
  say "cargo-fuzz present"
fi

# --- cargo-deny, for the supply-chain check of the tests (scripts/audit.sh) -----------------
if [ "${TAILOR_SETUP_FUZZ:-1}" = 0 ]; then
  : # the demo does not audit
elif ! command -v cargo-deny >/dev/null; then
  say "installing cargo-deny (several minutes, once per machine)"
  cargo install -q --locked cargo-deny
else
  say "cargo-deny present"
fi

# --- SciPy, the independent reference of the experiment statistics' tests (tests/stats) -----
scipy_pin=1.17.1
if [ "${TAILOR_SETUP_FUZZ:-1}" = 0 ]; then
  : # the demo does not need it
elif .tailor/py/bin/python -c "import scipy, sys; sys.exit(scipy.__version__ != '$scipy_pin')" 2>/dev/null; then
  say "SciPy $scipy_pin present in .tailor/py"
else
  say "installing SciPy $scipy_pin from PyPI into .tailor/py (for the statistics tests)"
  rm -rf .tailor/py
  /usr/bin/python3 -m venv .tailor/py 2>/dev/null || python3 -m venv .tailor/py
  .tailor/py/bin/pip install -q --disable-pip-version-check "scipy==$scipy_pin"
fi

# --- Node.js 20.19 or later (the machine's, or one from PyPI), first on PATH ----------------
node_dir=$(bash scripts/node.sh)
if [ "$node_dir" != "$(dirname "$(command -v node 2>/dev/null || echo /none/node)")" ]; then
  # Not the node already on PATH (one from PyPI): put it first for the build and the tests.
  export PATH="$node_dir:$PATH"
  echo "export PATH=\"$node_dir:\$PATH\" # Node $(node --version), chosen by scripts/node.sh" >> .tailor/toolchain.env
fi

# --- Node packages (binaryen's wasm-opt, esbuild, playwright-core, puppeteer-core, typescript)
stamp=.tailor/npm.stamp
lock_sum=$(sha256sum package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  say "installing Node packages"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
else
  say "Node packages present"
fi

say "done"
