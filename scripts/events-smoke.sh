#!/usr/bin/env bash
# Invokes the function with every sample in events/ through `cargo lambda watch`
# and checks the statusCode of each answer (and, for the success samples, the table).
# Needs the services up and seeded (scripts/services.sh start; seed.py).
# Starts watch on 127.0.0.1:$WATCH_PORT (default 9765) and stops it on exit.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"

FUNCTION="disconnect-integration"
WATCH_LOG="$LOCAL_DIR/watch.log"
WATCH_TIMEOUT="${WATCH_START_TIMEOUT:-120}"
INVOKE_TIMEOUT="${INVOKE_TIMEOUT:-120}"   # per sample; the first one also starts the function
mkdir -p "$LOCAL_DIR"

# sample -> expected statusCode. The four front doors must succeed.
SUCCESS=(apigw-rest-v1 apigw-http-v2 alb function-url)
declare -A EXPECT=(
  [apigw-rest-v1]=200 [apigw-http-v2]=200 [alb]=200 [function-url]=200
  [error-missing-key]=401 [error-wrong-method]=405 [error-invalid-id]=400 [error-unknown-route]=404
)
ORDER=("${SUCCESS[@]}" error-missing-key error-wrong-method error-invalid-id error-unknown-route)

die() { echo "smoke: $*" >&2; exit 1; }

bash scripts/services.sh status >/dev/null || die "services are not running; run scripts/services.sh start"
command -v cargo-lambda >/dev/null || die "cargo-lambda not found; run scripts/bootstrap.sh"

# Build first, so the first invoke does not wait for a compile.
echo "smoke: building $FUNCTION"
cargo build --locked --bin "$FUNCTION"

# Start watch in its own session so that stopping it stops its children too.
watch_pid=""
stop_watch() {
  [[ -n "$watch_pid" ]] || return 0
  if kill -0 "$watch_pid" 2>/dev/null; then
    kill -TERM -- "-$watch_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$watch_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$watch_pid" 2>/dev/null || true
  fi
  wait "$watch_pid" 2>/dev/null || true
  watch_pid=""
}
trap stop_watch EXIT
trap 'exit 130' INT TERM

setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  --ignore-changes --locked --bin "$FUNCTION" > "$WATCH_LOG" 2>&1 < /dev/null &
watch_pid=$!

deadline=$((SECONDS + WATCH_TIMEOUT))
until "$VENV_PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$WATCH_PORT" 2>/dev/null; do
  kill -0 "$watch_pid" 2>/dev/null || { tail -n 30 "$WATCH_LOG" >&2; die "cargo lambda watch exited"; }
  (( SECONDS < deadline )) || { tail -n 30 "$WATCH_LOG" >&2; die "cargo lambda watch did not listen on 127.0.0.1:$WATCH_PORT within ${WATCH_TIMEOUT}s"; }
  sleep 0.5
done
echo "smoke: cargo lambda watch up on 127.0.0.1:$WATCH_PORT (log: .local/watch.log)"

# Prints the statusCode of the JSON answer on stdin ("none" if there is none).
status_of() {
  "$VENV_PY" -c '
import json, sys
text = sys.stdin.read()
try:
    print(json.loads(text).get("statusCode", "none"))
except Exception:
    print("none")'
}

# After a successful disconnect: integration and tokens gone, marker written, others untouched.
check_table() {
  "$VENV_PY" - <<'PY'
import os, sys, boto3
ddb = boto3.client("dynamodb")
def sks(pk):
    out = ddb.query(TableName=os.environ["TABLE_NAME"], KeyConditionExpression="PK = :p",
                    ExpressionAttributeValues={":p": {"S": pk}})
    return sorted(i["SK"]["S"] for i in out["Items"])
demo = sks("INTEGRATION#int_yt_abc123")
other = sks("INTEGRATION#int_tt_other789")
problems = []
if any(sk == "INTEGRATION" or sk.startswith("TOKEN#") for sk in demo):
    problems.append(f"int_yt_abc123 still has {demo}")
if "DISCONNECTED" not in demo:
    problems.append(f"no DISCONNECTED marker for int_yt_abc123 (have {demo})")
if other != ["INTEGRATION", "TOKEN#access"]:
    problems.append(f"int_tt_other789 changed: {other}")
if problems:
    print("; ".join(problems))
    sys.exit(1)
PY
}

passed=0 failed=0
for name in "${ORDER[@]}"; do
  file="events/$name.json"
  want="${EXPECT[$name]}"
  if [[ " ${SUCCESS[*]} " == *" $name "* ]]; then
    "$VENV_PY" scripts/seed.py --reset > /dev/null
  fi
  out="$(timeout "$INVOKE_TIMEOUT" cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
          --data-file "$file" --output-format json "$FUNCTION" 2>&1)" || true
  got="$(status_of <<< "$out")"
  note=""
  if [[ "$got" == "$want" && "$want" == 200 ]]; then
    note="$(check_table)" || got="$got (table check failed)"
  fi
  if [[ "$got" == "$want" ]]; then
    echo "smoke: ok    $name -> $got"
    passed=$((passed + 1))
  else
    echo "smoke: FAIL  $name -> $got, want $want"
    [[ -n "$note" ]] && echo "       $note"
    echo "$out" | head -c 1500 | sed 's/^/       /'; echo
    failed=$((failed + 1))
  fi
done

echo "smoke: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]] || { echo "smoke: last lines of .local/watch.log:"; tail -n 20 "$WATCH_LOG"; exit 1; }
