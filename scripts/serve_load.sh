#!/usr/bin/env bash
# serve_load.sh: the full load test of `r1 serve` (issue 7): 64 concurrent
# streaming clients (npm `openai`) send 512 chat requests in all over loopback
# to a tiny random DeepSeek model; requires 0 errors and the server's RSS flat
# after warm-up (growth under 16 MB between 1/4 of the requests and the end).
# Usage: scripts/serve_load.sh [CLIENTS] [REQUESTS] [MAX_TOKENS] [PARALLEL]
set -u
cd "$(dirname "$0")/.."
. tests/serve/serve.sh
clients=${1:-64} requests=${2:-512} max_tokens=${3:-32} parallel=${4:-32}
dir=$(mktemp -d /tmp/r1-serve-load-XXXXXX)
trap 'stop_server; rm -rf "$dir"' EXIT
make_model "$dir" || exit 1
start_server "$dir" --parallel "$parallel" --queue 256 --ctx 512 --threads 2 --api-key sk-load || exit 1
echo "server pid $SERVER_PID on port $PORT, parallel $parallel"
out=$(tests/serve/peer.sh load.js "$PORT" "$(basename "$dir")" sk-load "$clients" "$requests" "$max_tokens" "$SERVER_PID")
rc=$?
echo "$out"
curl -s "http://127.0.0.1:$PORT/health"; echo
warm=$(echo "$out" | sed -n 's/.*"rss_warm_kb":\([0-9]*\).*/\1/p')
max=$(echo "$out" | sed -n 's/.*"rss_max_kb":\([0-9]*\).*/\1/p')
[ $rc -eq 0 ] || { echo "serve_load: FAILED (errors)"; exit 1; }
[ -n "$warm" ] && [ -n "$max" ] && [ $((max - warm)) -lt 16384 ] || { echo "serve_load: FAILED (RSS grew from $warm kB to $max kB)"; exit 1; }
echo "serve_load: OK: $requests requests from $clients clients, 0 errors, RSS $warm kB after warm-up, $max kB max"
