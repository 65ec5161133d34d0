#!/usr/bin/env bash
# Invokes the function with every sample in events/ through `cargo lambda watch`
# and checks the statusCode of each answer (and, for the success samples, the table).
# Needs the services up and seeded (scripts/services.sh start; seed.py).
# Starts watch on 127.0.0.1:$WATCH_PORT (default 9765) and stops it on exit.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/lib-watch.sh
source "$ROOT_DIR/scripts/lib-watch.sh"
cd "$ROOT_DIR"

FUNCTION="$WATCH_FUNCTION"
INVOKE_TIMEOUT="${INVOKE_TIMEOUT:-120}"   # per sample; the first one also starts the function

# sample -> expected statusCode. The four front doors must succeed.
SUCCESS=(apigw-rest-v1 apigw-http-v2 alb function-url)
declare -A EXPECT=(
  [apigw-rest-v1]=200 [apigw-http-v2]=200 [alb]=200 [function-url]=200
  [error-missing-key]=401 [error-wrong-method]=405 [error-invalid-id]=400 [error-unknown-route]=404
)
ORDER=("${SUCCESS[@]}" error-missing-key error-wrong-method error-invalid-id error-unknown-route)

die() { echo "smoke: $*" >&2; exit 1; }

bash scripts/services.sh status >/dev/null || die "services are not running; run scripts/services.sh start"

trap watch_stop EXIT
trap 'exit 130' INT TERM
watch_start

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
