#!/usr/bin/env bash
# Installs what xrpkv needs to build and test, then builds it (`npm install`
# runs scripts/build.mjs). Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }

# clang compiles bpf/*.c; llvm brings llvm-objdump for reading what it made.
# redis-tools (redis-cli, redis-benchmark) drive the server's tests;
# redis-server is what `npm run bench:server` compares the server with;
# fio measures the device's own random-read rate for `npm run bench:memory`.
missing=()
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v llvm-objdump >/dev/null 2>&1 || missing+=(llvm)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nutcracker >/dev/null 2>&1 || missing+=(nutcracker)
command -v fio >/dev/null 2>&1 || missing+=(fio)
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
  else
    die "missing ${missing[*]}: install with \`sudo apt-get install -y ${missing[*]}\` (or run this script as root)"
  fi
fi

command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20.19 or newer (https://nodejs.org)"
command -v npm >/dev/null 2>&1 || die "npm not found: it ships with Node.js (https://nodejs.org)"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || die "Node.js $(node --version) is too old: xrpkv needs 20.19 or newer"

say "clang $(clang -dumpversion), $(node --version), $(cargo --version)"
# Installs the npm packages, then `prepare` builds the addon, the Rust
# binaries, dist/bpf/*.o and dist/*.js.
npm install
say "ready: try \`npm start\` or \`npm test\`"
