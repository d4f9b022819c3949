#!/usr/bin/env bash
# peer.sh: installs the official OpenAI client (npm `openai`, pinned to a 6.x
# release that runs on Node 20) into tests/peers/serve/node_modules (git-ignored)
# when missing, then runs `node tests/serve/<script> ARGS...`. A failed install
# is a test failure, not a skip. Usage: tests/serve/peer.sh e2e.js PORT MODEL
set -u
cd "$(dirname "$0")/../.."
VERSION=6.30.1
PEERS=tests/peers/serve
script=$1; shift
fail() { echo "peer.sh: $1"; echo "${script%.js}: 0 passed, 1 failed"; exit 1; }
have() { node -e "const v=require('./$PEERS/node_modules/openai/package.json').version; process.exit(v==='$VERSION'?0:1)" 2>/dev/null; }
if ! have; then
  command -v npm >/dev/null || fail "npm not found (scripts/deps.sh installs it)"
  mkdir -p "$PEERS"
  npm install --prefix "$PEERS" --no-save --no-audit --no-fund --no-package-lock "openai@$VERSION" \
    >"$PEERS/npm.log" 2>&1 || { tail -5 "$PEERS/npm.log"; fail "npm install openai@$VERSION failed (log: $PEERS/npm.log)"; }
  have || fail "openai@$VERSION not usable after install"
fi
exec node "tests/serve/$script" "$@"
