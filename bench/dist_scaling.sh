#!/usr/bin/env bash
# Data-parallel scaling on this machine (docs/DISTRIBUTED.md): the same
# global batch trained by 1 process and by `mpirun -np 2` ranks of
# build-mpi/r1, for the demo model and the 20.4M-parameter bench model.
# Prints, per run, the median step time, the median and minimum time spent
# in the gradient allreduce (it includes waiting for the slower rank; the
# minimum is closest to the transfer itself), tokens/s, and the load average
# before the run (other jobs share the cores).
#   bench/dist_scaling.sh [STEPS_DEMO] [STEPS_BENCH]     (needs make and make MPI=1)
set -eu
cd "$(dirname "$0")/.."
steps_demo=${1:-40}
steps_bench=${2:-8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/%lld/512/; s/%lld/0/; s/%lld/1/' <<'JSON' > "$tmp/demo.json"
{"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "vocab_size": %lld, "hidden_size": 128, "intermediate_size": 384, "moe_intermediate_size": 96, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": null, "kv_lora_rank": 64, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32, "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2, "n_group": 1, "topk_group": 1, "topk_method": "noaux_tc", "scoring_func": "sigmoid", "norm_topk_prob": true, "routed_scaling_factor": 1.0, "first_k_dense_replace": 1, "moe_layer_freq": 1, "num_nextn_predict_layers": 0, "hidden_act": "silu", "rms_norm_eps": 1e-06, "rope_theta": 10000, "max_position_embeddings": 256, "rope_scaling": null, "tie_word_embeddings": true, "bos_token_id": %lld, "eos_token_id": %lld, "torch_dtype": "float32"}
JSON
mpirun="mpirun --allow-run-as-root --oversubscribe"

# median and min of a metrics key over the steps after the first (warm-up)
stats() { grep -o "\"$2\": [0-9.e+-]*" "$1" | tail -n +2 | awk '{print $2}' | sort -g |
          awk '{v[NR]=$1} END {printf "%s %s\n", v[int((NR+1)/2)], v[1]}'; }

run() { # name ranks threads config steps
  local name=$1 ranks=$2 threads=$3 cfg=$4 steps=$5 load
  load=$(cut -d' ' -f1 /proc/loadavg)
  local args="pretrain --config $cfg --task copy --batch 8 --seq 128 --steps $steps --threads $threads --quiet --out $tmp/$name"
  if [ "$ranks" = 1 ]; then build/r1 $args; else $mpirun -np "$ranks" build-mpi/r1 $args; fi
  read -r tps _ < <(stats "$tmp/$name/metrics.jsonl" tokens_per_s)
  read -r ar_med ar_min < <(stats "$tmp/$name/metrics.jsonl" allreduce_s)
  awk -v n="$name" -v r="$ranks" -v t="$threads" -v tps="$tps" -v am="$ar_med" -v an="$ar_min" -v l="$load" \
    'BEGIN {printf "| %s | %d x %d | %.1f | %.2f | %.2f | %.0f | %s |\n", n, r, t, 1024 / tps * 1000, am * 1000, an * 1000, tps, l}'
}

echo "| run | ranks x threads | ms/step | allreduce ms (median) | allreduce ms (min) | tokens/s | load avg |"
echo "|---|---|---|---|---|---|---|"
run demo-1x1 1 1 "$tmp/demo.json" "$steps_demo"
run demo-1x2 1 2 "$tmp/demo.json" "$steps_demo"
run demo-2x1 2 1 "$tmp/demo.json" "$steps_demo"
run bench-1x1 1 1 bench/bench_train.json "$steps_bench"
run bench-1x2 1 2 bench/bench_train.json "$steps_bench"
run bench-2x1 2 1 bench/bench_train.json "$steps_bench"
