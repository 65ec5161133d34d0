# shellcheck shell=bash
# Shared shell functions of the scripts. Source it after env.sh:
#
#   pinned_venv DIR REQUIREMENTS CONSTRAINTS   a Python venv with pinned tools (bootstrap.sh)
#   services_for_this_run                      tools, DynamoDB Local and moto up, demo data seeded;
#                                              what this call started is stopped on exit
#   watch_start / watch_stop                   `cargo lambda watch --release` on 127.0.0.1:$WATCH_PORT,
#                                              in the background (tests); `make dev` runs it in front
#   watch_start_bin [-p PKG] [-r] BIN PORT LOG [K=V...] [-- ARG...]
#                                              `cargo lambda watch --bin BIN` on 127.0.0.1:PORT in the
#                                              background, with extra environment and watch arguments
#   bg_start NAME LOG|- COMMAND...             a helper process in its own session, stopped on exit
#                                              (LOG - : its output goes to this terminal)
#   port_open PORT / port_wait PORT PID NAME   something listens on 127.0.0.1:PORT / wait for it
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

# --- background processes ------------------------------------------------------------
# Each runs in its own session (setsid), so a Ctrl-C in the terminal reaches only the foreground
# and stopping one stops its children too; each is stopped on exit, by its own pid.
_bg_pids=()

port_open() {
  "$VENV_PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null
}

# Waits until 127.0.0.1:PORT listens, while PID lives (WATCH_START_TIMEOUT, default 120 s).
port_wait() {
  local port="$1" pid="$2" name="$3" deadline=$((SECONDS + ${WATCH_START_TIMEOUT:-120}))
  until port_open "$port"; do
    if ! kill -0 "$pid" 2>/dev/null || (( SECONDS >= deadline )); then
      echo "$name did not listen on 127.0.0.1:$port" >&2
      return 1
    fi
    sleep 0.5
  done
}

bg_start() {
  local name="$1" log="$2"; shift 2
  if [[ "$log" == "-" ]]; then
    setsid "$@" < /dev/null &
  else
    mkdir -p "$(dirname "$log")"
    setsid "$@" > "$log" 2>&1 < /dev/null &
  fi
  BG_PID=$!
  _bg_pids+=("$BG_PID")
  on_exit bg_stop "$BG_PID" "$name"
}

# Stops the session of PID (TERM, then KILL after 10 s), if it is one that bg_start started.
bg_stop() {
  local pid="$1" i kept=()
  for i in "${_bg_pids[@]}"; do [[ "$i" == "$pid" ]] || kept+=("$i"); done
  (( ${#kept[@]} < ${#_bg_pids[@]} )) || return 0
  _bg_pids=("${kept[@]}")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
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
_watch_pids=()

# watch_start_bin [-p PACKAGE] [-r] BIN PORT LOG [NAME=VALUE ...] [-- WATCH_ARG ...]
# Builds BIN first (so the first invocation does not wait for a compile), then starts
# `cargo lambda watch --bin BIN` on 127.0.0.1:PORT with the NAME=VALUE pairs added to its
# environment (the function inherits it), and waits until it listens. PACKAGE: the workspace
# member that has BIN, when it is not the root package (cargo's -p). -r: the release profile
# (the build that ships, and the one `make test` has already compiled).
watch_start_bin() {
  local build_args=()
  if [[ "$1" == "-p" ]]; then build_args=(--package "$2"); shift 2; fi
  if [[ "$1" == "-r" ]]; then build_args+=(--release); shift; fi
  local bin="$1" port="$2" log="$3" envs=() args=()
  shift 3
  while (( $# )); do
    if [[ "$1" == "--" ]]; then shift; args=("$@"); break; fi
    [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "watch: not NAME=VALUE: $1" >&2; return 1; }
    envs+=("$1"); shift
  done
  command -v cargo-lambda >/dev/null || { echo "watch: cargo-lambda not found; run scripts/bootstrap.sh" >&2; return 1; }
  # Something else on the port (a `make dev`, say) would be used instead of this build.
  if port_open "$port"; then
    echo "watch: 127.0.0.1:$port is already in use; stop what listens there or change its port (scripts/lib/env.sh)" >&2
    return 1
  fi
  cargo build --locked "${build_args[@]}" --bin "$bin"
  bg_start "cargo lambda watch --bin $bin" "$log" env "${envs[@]}" \
    cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --locked "${build_args[@]}" --bin "$bin" "${args[@]}"
  _watch_pids+=("$BG_PID")
  if ! port_wait "$port" "$BG_PID" "watch: cargo lambda watch --bin $bin"; then
    tail -n 30 "$log" >&2
    return 1
  fi
  echo "watch: cargo lambda watch --bin $bin up on 127.0.0.1:$port (log: ${log#"$ROOT_DIR"/})"
}

# The DELETE function, as the tests want it: the release build, no reload on changes.
watch_start() {
  watch_start_bin -r "$WATCH_FUNCTION" "$WATCH_PORT" "$WATCH_LOG" -- --disable-cors --ignore-changes
}

# Stops every watch started here (each is also stopped on exit).
watch_stop() {
  local pid
  for pid in "${_watch_pids[@]}"; do bg_stop "$pid"; done
  _watch_pids=()
}
