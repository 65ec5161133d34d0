# shellcheck shell=bash
# Starts and stops `cargo lambda watch` for the scripts that talk to the function over HTTP
# (events-smoke.sh, contract-test.sh). Source it after env.sh, then:
#
#   trap watch_stop EXIT
#   trap 'exit 130' INT TERM
#   watch_start            # builds, starts watch on 127.0.0.1:$WATCH_PORT, waits until it listens
#
# Watch runs in its own session, so stopping it stops its children (the function) too. Its log
# goes to $WATCH_LOG (default .local/watch.log). WATCH_START_TIMEOUT (default 120 s) bounds the
# wait.

WATCH_FUNCTION="disconnect-integration"
WATCH_LOG="${WATCH_LOG:-$LOCAL_DIR/watch.log}"
WATCH_TIMEOUT="${WATCH_START_TIMEOUT:-120}"
watch_pid=""

_watch_die() { echo "watch: $*" >&2; exit 1; }

# Whether something accepts connections on 127.0.0.1:$1.
_watch_port_open() {
  "$VENV_PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null
}

watch_start() {
  command -v cargo-lambda >/dev/null || _watch_die "cargo-lambda not found; run scripts/bootstrap.sh"
  # Something else on the port (a `make dev`, say) would be tested instead of this build.
  ! _watch_port_open "$WATCH_PORT" \
    || _watch_die "127.0.0.1:$WATCH_PORT is already in use; stop what listens there or set WATCH_PORT"
  mkdir -p "$LOCAL_DIR"

  # Build first, so the first request does not wait for a compile.
  echo "watch: building $WATCH_FUNCTION"
  cargo build --locked --bin "$WATCH_FUNCTION"

  # --disable-cors: watch's default CORS layer would answer OPTIONS itself; the deployed HTTP API
  # has no CORS either, so every method reaches the function as it would there.
  setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
    --ignore-changes --disable-cors --locked --bin "$WATCH_FUNCTION" > "$WATCH_LOG" 2>&1 < /dev/null &
  watch_pid=$!

  local deadline=$((SECONDS + WATCH_TIMEOUT))
  until _watch_port_open "$WATCH_PORT"; do
    kill -0 "$watch_pid" 2>/dev/null || { tail -n 30 "$WATCH_LOG" >&2; _watch_die "cargo lambda watch exited"; }
    (( SECONDS < deadline )) || { tail -n 30 "$WATCH_LOG" >&2; _watch_die "cargo lambda watch did not listen on 127.0.0.1:$WATCH_PORT within ${WATCH_TIMEOUT}s"; }
    sleep 0.5
  done
  echo "watch: cargo lambda watch up on 127.0.0.1:$WATCH_PORT (log: ${WATCH_LOG#"$ROOT_DIR"/})"
}

watch_stop() {
  [[ -n "$watch_pid" ]] || return 0
  if kill -0 "$watch_pid" 2>/dev/null; then
    kill -TERM -- "-$watch_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$watch_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$watch_pid" 2>/dev/null || true
  fi
  wait "$watch_pid" 2>/dev/null || true
  watch_pid=""
}
