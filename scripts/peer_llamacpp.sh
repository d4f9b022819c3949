#!/usr/bin/env bash
# Installs the llama.cpp peer (prebuilt libllama + ggml CPU backends from npm,
# docs/PEERS: @node-llama-cpp/linux-x64@3.22.1) into tests/peers/node_modules
# (git-ignored) unless it is already there, and prints the folder holding the
# shared libraries. Needs only the npm registry. Exit 1 when it cannot.
set -eu
cd "$(dirname "$0")/.."
dir=tests/peers/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
if [ ! -f "$dir/libllama.v0.5.0.so" ]; then
  mkdir -p tests/peers
  npm install --prefix tests/peers --no-save --no-audit --no-fund --ignore-scripts \
    @node-llama-cpp/linux-x64@3.22.1 >&2 || { echo "peer_llamacpp: npm install failed" >&2; exit 1; }
fi
[ -f "$dir/libllama.v0.5.0.so" ] || { echo "peer_llamacpp: $dir/libllama.v0.5.0.so missing after install" >&2; exit 1; }
echo "$dir"
