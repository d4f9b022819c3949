#!/usr/bin/env bash
# serve_bench.sh: `r1 serve` throughput and latency. For 1, 8 and 32
# concurrent streaming clients (npm `openai`, tests/serve/load.js) it reports
# total generated tokens/s and the median time to first token, on two random
# DeepSeek-V3-shaped models with the tiny 512-id tokenizer:
#   tiny  tests/golden/ds_v3 (D=48, 3 layers): mostly server + scheduling cost
#   small bench/serve_model.json (D=512, 6 layers, 16 experts top-4, ~40M params)
# Server: --parallel 32 --threads T (default: all CPUs). Usage: bench/serve_bench.sh [MAX_TOKENS] [THREADS]
set -u
cd "$(dirname "$0")/.."
. tests/serve/serve.sh
max_tokens=${1:-64} threads=${2:-$(nproc)}
root=$(mktemp -d /tmp/r1-serve-bench-XXXXXX)
trap 'stop_server 2>/dev/null; rm -rf "$root"' EXIT
printf '%-6s %8s %9s %10s %12s %12s\n' model clients requests "tok/s" "TTFT p50 ms" "TTFT p90 ms"
for m in tiny small; do
  cfg=; [ $m = small ] && cfg=bench/serve_model.json
  make_model "$root/$m" $cfg || exit 1
  start_server "$root/$m" --parallel 32 --queue 256 --ctx 1024 --threads "$threads" || exit 1
  tests/serve/peer.sh load.js "$PORT" "$m" x 4 8 8 >/dev/null # warm-up (and the npm install)
  for c in 1 8 32; do
    n=$((c * 4 > 16 ? c * 4 : 16))
    out=$(tests/serve/peer.sh load.js "$PORT" "$m" x "$c" "$n" "$max_tokens" | head -1)
    num() { echo "$out" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
    printf '%-6s %8s %9s %10s %12s %12s\n' $m "$c" "$n" "$(num tok_per_s)" "$(num ttft_median_ms)" "$(num ttft_p90_ms)"
  done
  stop_server
done
