#!/usr/bin/env bash
# The browser test of the API playground: headless Chromium (Debian's, driven by the venv's
# Playwright) loads the page as `make dev` serves it, and sends the DELETE from it through the
# page's own origin to the function (scripts/tests/test_playground.py has what it checks).
#   1. builds the page for its own origin into .local/playground-site (scripts/build-playground.py);
#   2. starts the function under `cargo lambda watch` on 127.0.0.1:$WATCH_PORT (the release build,
#      as the contract test does), and the page's server on 127.0.0.1:$PLAYGROUND_PORT, which passes
#      /v1/* to it (scripts/local/playground-server.py); both are stopped on exit;
#   3. runs the test; its picture goes to .local/test-output/playground.png.
# Needs the services up and seeded (scripts/services.sh start; seed.py); the test seeds
# integrations of its own. `make test` runs it after the contract test.
#   --docs-screenshot PATH   the picture also to PATH (make docs-screenshot: docs/img/playground.png)
set -euo pipefail
# shellcheck source=scripts/lib/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
# shellcheck source=scripts/lib/lib.sh
source "$ROOT_DIR/scripts/lib/lib.sh"
cd "$ROOT_DIR"

SITE="$LOCAL_DIR/playground-site"
OUTPUT_DIR="$LOCAL_DIR/test-output"
SERVER_LOG="$LOCAL_DIR/playground-server.log"
FIRST_REQUEST_TIMEOUT="${INVOKE_TIMEOUT:-120}"   # the first request also starts the function

die() { echo "browser-test: $*" >&2; exit 1; }

test_args=(--url "http://127.0.0.1:$PLAYGROUND_PORT/" --screenshot "$OUTPUT_DIR/playground.png")
case "${1:-}" in
  "") ;;
  --docs-screenshot) [[ -n "${2:-}" ]] || die "--docs-screenshot needs a path"; test_args+=(--docs-screenshot "$2") ;;
  *) die "usage: $0 [--docs-screenshot PATH]" ;;
esac

bash scripts/services.sh status >/dev/null || die "services are not running; run scripts/services.sh start"
bash scripts/bootstrap.sh browser
if port_open "$PLAYGROUND_PORT"; then
  die "127.0.0.1:$PLAYGROUND_PORT is in use (a make dev?); stop it or set PLAYGROUND_PORT"
fi

"$VENV_PY" scripts/build-playground.py --out "$SITE"
watch_start

# The function, not cargo-lambda, must answer, before the page is timed: a GET on the integration
# path is its own 405 (this also absorbs the function's start).
"$VENV_PY" - "http://127.0.0.1:$WATCH_PORT" "$FIRST_REQUEST_TIMEOUT" <<'PY' || die "the function does not answer on 127.0.0.1:$WATCH_PORT (see ${WATCH_LOG#"$ROOT_DIR"/})"
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(f"{sys.argv[1]}/v1/integration/int_yt_abc123", timeout=float(sys.argv[2]))
    sys.exit("browser-test: GET was answered 2xx/3xx, expected the function's 405")
except urllib.error.HTTPError as answer:
    if answer.code != 405:
        sys.exit(f"browser-test: GET answered {answer.code}, expected the function's 405")
PY

bg_start "playground server" "$SERVER_LOG" "$VENV_PY" -u scripts/local/playground-server.py \
  --port "$PLAYGROUND_PORT" --site "$SITE" --upstream "http://127.0.0.1:$WATCH_PORT"
port_wait "$PLAYGROUND_PORT" "$BG_PID" "browser-test: the playground server" || { cat "$SERVER_LOG" >&2; exit 1; }

mkdir -p "$OUTPUT_DIR"
status=0
"$VENV_PY" scripts/tests/test_playground.py "${test_args[@]}" || status=$?
echo "browser-test: the page's calls, as the playground server passed them on (${SERVER_LOG#"$ROOT_DIR"/}):"
grep '^playground: [A-Z]' "$SERVER_LOG" | sed 's/^/  /' || echo "  (none)"
exit "$status"
