#!/usr/bin/env bash
# Runs every test binary given as an argument, shows its output, and closes
# with one summary line "N passed, M failed" summed over all binaries
# (each binary ends with "<name>: N passed, M failed"). Exit 1 on any failure.
set -u
total_pass=0; total_fail=0; broken=()
for t in "$@"; do
  echo "== $t"
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  p=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed$/\1/')
  f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed$/\2/')
  [ -n "$p" ] || p=0
  [ -n "$f" ] || f=0
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; broken+=("$t (exit $rc)"); fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
done
for b in "${broken[@]+"${broken[@]}"}"; do echo "crashed or failed without a summary: $b"; done
echo "$total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ]
