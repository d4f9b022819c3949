#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c with clang's libFuzzer + ASan/UBSan and runs
# each for $1 seconds (default 20) over a scratch copy of its committed corpus.
# New crashing inputs are left in build-fuzz/<target>/ (crash-*); add a fixed
# one to tests/fuzz/corpus/<target>/ so `make test` replays it forever.
# scripts/fuzz.sh SECS [TARGET] runs only fuzz_TARGET.c when a name is given.
set -eu
secs=${1:-20}
mkdir -p build-fuzz
# the library as the Makefile's plain build has it: single-process dist, no MPI
srcs="$(find src -name '*.c' ! -path 'src/cli/*' ! -path 'src/dist/dist_*.c' | sort) src/dist/dist_single.c"
for t in tests/fuzz/fuzz_${2:-*}.c; do
  name=$(basename "$t" .c)
  bin=build-fuzz/$name
  flags=""
  [ "$(uname -m)" = x86_64 ] && flags="-mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16 -mavx512vnni"
  clang -std=c11 -O1 -g -D_GNU_SOURCE -Iinclude -Isrc -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all $flags -o "$bin" "$t" $srcs -lm -lpthread -lcjson -lpcre2-8 -lmicrohttpd
  work=build-fuzz/$name.corpus
  rm -rf "$work"; mkdir -p "$work"
  cp -r tests/fuzz/corpus/"$name"/. "$work"/ 2>/dev/null || true
  echo "== $name ($secs s)"
  (cd build-fuzz && ./"$name" -max_total_time="$secs" -print_final_stats=1 "$name.corpus" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|crash' || true)
done
