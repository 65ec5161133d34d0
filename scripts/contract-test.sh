#!/usr/bin/env bash
# The contract test: schemathesis generates requests from openapi.yaml and sends them to the
# function through `cargo lambda watch` (with the template's routes), once with the demo key and
# once without, and fails if any answer breaks the spec: a status the spec does not list, a body
# or header that does not match its schema, another content type, any 5xx, another method not
# answered 405 with `Allow`, a 2xx without a valid key, a warning (scripts/config/schemathesis.toml).
# First it runs the README's `cargo lambda invoke --data-file events/apigw-http-v2.json`.
# Needs the services up and seeded (scripts/services.sh start; seed.py); resets the demo items.
# Starts watch on 127.0.0.1:$WATCH_PORT (default 9765) and stops it on exit.
#   CONTRACT_MAX_EXAMPLES  test cases per phase and pass (default 500)
#   CONTRACT_SEED          the generator's seed (default fixed, so a run can be repeated)
set -euo pipefail
# shellcheck source=scripts/lib/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
# shellcheck source=scripts/lib/lib.sh
source "$ROOT_DIR/scripts/lib/lib.sh"
cd "$ROOT_DIR"

SPEC="openapi.yaml"
MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-500}"
SEED="${CONTRACT_SEED:-20261128}"
FIRST_REQUEST_TIMEOUT="${INVOKE_TIMEOUT:-120}"   # the first request also starts the function
BASE_URL="http://127.0.0.1:$WATCH_PORT"
REPORT_DIR="$LOCAL_DIR/contract"

die() { echo "contract: $*" >&2; exit 1; }

bash scripts/services.sh status >/dev/null || die "services are not running; run scripts/services.sh start"
command -v st >/dev/null || die "schemathesis (st) not found; run scripts/bootstrap.sh"

"$VENV_PY" scripts/seed.py --reset > /dev/null

watch_start

# The README's local invoke: a sample event through watch, answered 200 (the demo integration).
answer="$(cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  --data-file events/apigw-http-v2.json --output-format json "$WATCH_FUNCTION")" \
  || die "cargo lambda invoke failed (see ${WATCH_LOG#"$ROOT_DIR"/})"
"$VENV_PY" -c 'import json,sys; a=json.loads(sys.argv[1]); sys.exit(0 if a.get("statusCode") == 200 else f"contract: cargo lambda invoke answered {a}")' "$answer"
echo "contract: cargo lambda invoke --data-file events/apigw-http-v2.json answered 200"
"$VENV_PY" scripts/seed.py --reset > /dev/null

# The function, not cargo-lambda, must be what answers: a GET on the integration path is its
# own 405 envelope with `Allow: DELETE`. This also absorbs the function's start.
"$VENV_PY" - "$BASE_URL" "$FIRST_REQUEST_TIMEOUT" <<'PY' || die "the function does not answer on $BASE_URL (see ${WATCH_LOG#"$ROOT_DIR"/})"
import json, sys, urllib.error, urllib.request
base, timeout = sys.argv[1], float(sys.argv[2])
try:
    urllib.request.urlopen(f"{base}/v1/integration/int_yt_abc123", timeout=timeout)
    sys.exit("contract: GET was answered 2xx/3xx, expected the function's 405")
except urllib.error.HTTPError as answer:
    body = answer.read()
    try:
        code = json.loads(body)["error"]["code"]
    except Exception:
        code = None
    if answer.code != 405 or code != "method_not_allowed" or answer.headers.get("allow") != "DELETE":
        sys.exit(f"contract: GET answered {answer.code} {answer.headers.get('allow')!r} {body[:200]!r}")
print("contract: the function answers on", base)
PY

mkdir -p "$REPORT_DIR"
checks=(
  not_a_server_error           # no 5xx for any input
  status_code_conformance      # every status is one the spec lists
  content_type_conformance     # application/json, as documented
  response_headers_conformance # Cache-Control everywhere, Allow on 405, Retry-After on 503
  response_schema_conformance  # every body matches its status' schema, error.code included
  negative_data_rejection      # invalid input is rejected with a 4xx
  positive_data_acceptance     # valid input is not rejected (404 for unknown ids is fine)
  unsupported_method           # every other method: 405 with Allow
  allow_header_conformance     # OPTIONS: Allow lists exactly the documented methods
  ignored_auth                 # a 2xx turns 401 without the key, or with a wrong one
  missing_required_header      # (the spec has no required header parameters today)
)
# Run from the report folder, so schemathesis' caches (.hypothesis, .schemathesis: `st replay`)
# stay in .local too.
st_run() (
  cd "$REPORT_DIR"
  st --no-color --config-file "$ROOT_DIR/scripts/config/schemathesis.toml" run "$ROOT_DIR/$SPEC" \
    --url "$BASE_URL" \
    --checks "$(IFS=,; echo "${checks[*]}")" \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --generation-database none \
    --request-timeout 30 \
    "$@"
)

echo "contract: schemathesis $(st --version | awk '{print $NF}'), up to $MAX_EXAMPLES cases per phase, seed $SEED"
failed=()
# 1. With the demo key: the 200s (the demo integration, disconnected by the first request and
#    a repeat after that), 404s for the ids that do not exist, 400s, 405s for other methods.
echo "contract: pass 1 of 2, with the demo key"
st_run --header "x-api-key: $DEMO_API_KEY" \
  --report junit --report-junit-path with-key.xml || failed+=("with the demo key")
# 2. Without it: schemathesis sends no key or keys of its own, so both 401 codes are seen.
echo "contract: pass 2 of 2, without a key"
st_run --warnings off \
  --report junit --report-junit-path without-key.xml || failed+=("without a key")

if (( ${#failed[@]} )); then
  echo "contract: FAILED: ${failed[*]} (reports in ${REPORT_DIR#"$ROOT_DIR"/})"
  exit 1
fi
echo "contract: every answer matched openapi.yaml"
