# serve.sh (sourced): helpers for the server load test and benchmark.
#   make_model DIR [CONFIG]   random model + the tiny tokenizer (via test_serve)
#   start_server DIR ARGS...  runs `r1 serve --port 0` in the background; sets PORT and SERVER_PID
#   stop_server
# Env: R1_BIN (default build/r1), BUILD (default build).
R1=${R1_BIN:-build/r1}
BUILD=${BUILD:-build}
make_model() {
  make --no-print-directory "$BUILD/tests/test_serve" r1 >/dev/null || return 1
  "$BUILD/tests/test_serve" --make-model "$@"
}
start_server() {
  local dir=$1; shift
  SERVER_LOG=$(mktemp)
  "$R1" serve -m "$dir" --port 0 "$@" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$SERVER_LOG")
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$SERVER_LOG" >&2
  return 1
}
stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  rm -f "$SERVER_LOG"
}
