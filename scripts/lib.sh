# shellcheck shell=bash
# Shared shell functions of the scripts. Source it after env.sh:
#
#   pinned_venv DIR REQUIREMENTS CONSTRAINTS   a Python venv with pinned tools (bootstrap.sh)
#   services_for_this_run                      tools, DynamoDB Local and moto up, demo data seeded;
#                                              what this call started is stopped on exit
#   watch_start / watch_stop                   `cargo lambda watch` on 127.0.0.1:$WATCH_PORT, in the
#                                              background (tests); `make dev` runs it in front
#   on_exit COMMAND...                         one more thing to run on exit (last added runs first)

# --- exit handlers ---------------------------------------------------------------
_on_exit=()
_run_on_exit() {
  local i
  for (( i = ${#_on_exit[@]} - 1; i >= 0; i-- )); do eval "${_on_exit[$i]}" || true; done
}
on_exit() {
  if (( ${#_on_exit[@]} == 0 )); then
    trap _run_on_exit EXIT
    trap 'exit 130' INT TERM
  fi
  _on_exit+=("$*")
}

# --- pinned venvs ----------------------------------------------------------------
# Creates DIR if needed and installs REQUIREMENTS under CONSTRAINTS (all transitive pins), only
# when the venv is missing or the two files changed since the last install (a stamp in DIR
# holds their hash).
pinned_venv() {
  local dir="$1" reqs="$2" constraints="$3" want
  want="$(cat "$reqs" "$constraints" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$dir/bin/python" && "$(cat "$dir/.stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  echo "venv: installing $(basename "$reqs") into ${dir#"$ROOT_DIR"/}"
  local started=$SECONDS
  [[ -x "$dir/bin/python" ]] || python3 -m venv "$dir" || {
    echo "venv: python3 -m venv failed (Debian: apt-get install python3-venv)." >&2
    return 1
  }
  "$dir/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    -r "$reqs" -c "$constraints"
  echo "$want" > "$dir/.stamp"
  echo "venv: ${dir#"$ROOT_DIR"/} ready in $((SECONDS - started))s"
}

# --- local services ----------------------------------------------------------------
services_for_this_run() {
  bash "$ROOT_DIR/scripts/bootstrap.sh"
  if ! bash "$ROOT_DIR/scripts/services.sh" status >/dev/null 2>&1; then
    bash "$ROOT_DIR/scripts/services.sh" start
    on_exit bash "$ROOT_DIR/scripts/services.sh" stop
  fi
  "$VENV_PY" "$ROOT_DIR/scripts/seed.py"
}

# --- cargo lambda watch --------------------------------------------------------------
# Watch runs in its own session, so stopping it stops its children (the function) too. Its log
# goes to $WATCH_LOG (default .local/watch.log). WATCH_START_TIMEOUT (default 120 s) bounds the
# wait for it to listen.
WATCH_FUNCTION="disconnect-integration"
WATCH_LOG="${WATCH_LOG:-$LOCAL_DIR/watch.log}"
# --disable-cors: watch's CORS layer would answer OPTIONS itself; the deployed HTTP API has no
# CORS either, so every method reaches the function as it does there. The routes come from
# Cargo.toml's [package.metadata.lambda.watch.router], the template's routes.
WATCH_ARGS=(--invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --disable-cors --locked --bin "$WATCH_FUNCTION")
_watch_pid=""

_watch_port_open() {
  "$VENV_PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null
}

watch_start() {
  command -v cargo-lambda >/dev/null || { echo "watch: cargo-lambda not found; run scripts/bootstrap.sh" >&2; return 1; }
  # Something else on the port (a `make dev`, say) would be tested instead of this build.
  if _watch_port_open "$WATCH_PORT"; then
    echo "watch: 127.0.0.1:$WATCH_PORT is already in use; stop what listens there or set WATCH_PORT" >&2
    return 1
  fi
  mkdir -p "$LOCAL_DIR"
  # Build first, so the first request does not wait for a compile.
  cargo build --locked --bin "$WATCH_FUNCTION"
  setsid cargo lambda watch "${WATCH_ARGS[@]}" --ignore-changes > "$WATCH_LOG" 2>&1 < /dev/null &
  _watch_pid=$!
  on_exit watch_stop
  local deadline=$((SECONDS + ${WATCH_START_TIMEOUT:-120}))
  until _watch_port_open "$WATCH_PORT"; do
    if ! kill -0 "$_watch_pid" 2>/dev/null || (( SECONDS >= deadline )); then
      tail -n 30 "$WATCH_LOG" >&2
      echo "watch: cargo lambda watch did not listen on 127.0.0.1:$WATCH_PORT" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "watch: cargo lambda watch up on 127.0.0.1:$WATCH_PORT (log: ${WATCH_LOG#"$ROOT_DIR"/})"
}

watch_stop() {
  [[ -n "$_watch_pid" ]] || return 0
  if kill -0 "$_watch_pid" 2>/dev/null; then
    kill -TERM -- "-$_watch_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$_watch_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$_watch_pid" 2>/dev/null || true
  fi
  wait "$_watch_pid" 2>/dev/null || true
  _watch_pid=""
}
