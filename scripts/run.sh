#!/usr/bin/env bash
# The local entry points, after one common start (tools installed, DynamoDB Local and moto up on
# 127.0.0.1, demo data seeded; what was started here is stopped on exit):
#
#   scripts/run.sh dev      make dev:   cargo lambda watch on 127.0.0.1:$WATCH_PORT, until Ctrl-C;
#                           the API playground on 127.0.0.1:$PLAYGROUND_PORT (its page, and /v1/*
#                           passed to that watch: scripts/local/playground-server.py);
#                           and token revocation: the table's stream (scripts/local/stream-poller.py)
#                           -> revoke-tokens (cargo lambda watch on 127.0.0.1:$REVOKE_WATCH_PORT)
#                           -> the platform stub (scripts/local/platform-stub.py, 127.0.0.1:$PLATFORM_STUB_PORT)
#   scripts/run.sh test     make test:  every test step; exit code non-zero if any failed
#   scripts/run.sh bench    make bench: bench/bench.py against the release binary and bench/hello
#   scripts/run.sh bench-revoker
#                           make bench-revoker: bench/revoker.py, the release revoke-tokens draining
#                           a burst of token removals from one shard against the platform stub
#   scripts/run.sh soak     make soak:  2,000 deletes at concurrency 32 through 4 instances of the
#                           release binary, then a scan of the table (tests/shipped/soak.rs)
#   scripts/run.sh docs-screenshot
#                           make docs-screenshot: the browser test, which also writes its picture of
#                           the playground after a successful call to docs/img/playground.png
set -euo pipefail
# shellcheck source=scripts/lib/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
# shellcheck source=scripts/lib/lib.sh
source "$ROOT_DIR/scripts/lib/lib.sh"
cd "$ROOT_DIR"

command="${1:-}"
shift || true
case "$command" in dev|test|bench|bench-revoker|soak|mutants|docs-screenshot) ;; *) echo "usage: $0 dev|test|bench|bench-revoker|soak|mutants|docs-screenshot [args]" >&2; exit 2 ;; esac

# Mutation testing runs only tests that need no service.
# `make test` starts its build first (run_test), then the services.
[[ "$command" == mutants || "$command" == test ]] || services_for_this_run

REVOKE_FUNCTION="revoke-tokens"
REVOKE_WATCH_LOG="$LOCAL_DIR/revoke-watch.log"

# Token revocation as deployed, on loopback: the stub platform server, revoke-tokens under its
# own `cargo lambda watch` pointed at the stub, and the poller that plays the stream's event
# source mapping. The stub's and the poller's lines go to this terminal; the consumer's log to
# $REVOKE_WATCH_LOG. Each runs in its own session and is stopped on exit (lib.sh, bg_start).
start_revocation() {
  local port stub="http://127.0.0.1:$PLATFORM_STUB_PORT"
  for port in "$WATCH_PORT" "$REVOKE_WATCH_PORT" "$PLATFORM_STUB_PORT"; do
    if port_open "$port"; then
      echo "dev: 127.0.0.1:$port is in use (another make dev or make test?); stop it or change the ports in scripts/lib/env.sh" >&2
      return 1
    fi
  done
  bg_start "platform stub" - "$VENV_PY" -u scripts/local/platform-stub.py --port "$PLATFORM_STUB_PORT"
  port_wait "$PLATFORM_STUB_PORT" "$BG_PID" "dev: the platform stub" || return 1
  watch_start_bin -p "$REVOKE_FUNCTION" "$REVOKE_FUNCTION" "$REVOKE_WATCH_PORT" "$REVOKE_WATCH_LOG" \
    REVOKE_ENDPOINT_GOOGLE="$stub" REVOKE_ENDPOINT_TIKTOK="$stub" REVOKE_ENDPOINT_META="$stub" \
    REVOKE_ENDPOINT_LINKEDIN="$stub" REVOKE_ENDPOINT_X="$stub" REVOKE_ENDPOINT_REDDIT="$stub" \
    REVOKE_ENDPOINT_DISCORD="$stub" REVOKE_ALLOW_LOOPBACK=true \
    NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
  bg_start "stream poller" - "$VENV_PY" -u scripts/local/stream-poller.py \
    --invoke-url "http://127.0.0.1:$REVOKE_WATCH_PORT/2015-03-31/functions/$REVOKE_FUNCTION/invocations"
}

# The API playground: the page built for its own origin, served with /v1/* passed to the
# function's watch (which starts in the foreground after this; until then a call answers 502).
# Its one line per call goes to this terminal.
PLAYGROUND_SITE="$LOCAL_DIR/playground-site"
start_playground() {
  if port_open "$PLAYGROUND_PORT"; then
    echo "dev: 127.0.0.1:$PLAYGROUND_PORT is in use (another make dev or make test?); stop it or set PLAYGROUND_PORT" >&2
    return 1
  fi
  "$VENV_PY" scripts/build-playground.py --out "$PLAYGROUND_SITE"
  bg_start "playground server" - "$VENV_PY" -u scripts/local/playground-server.py \
    --port "$PLAYGROUND_PORT" --site "$PLAYGROUND_SITE" --upstream "http://127.0.0.1:$WATCH_PORT"
  port_wait "$PLAYGROUND_PORT" "$BG_PID" "dev: the playground server"
}

run_dev() {
  start_revocation
  start_playground
  cat <<MSG

API playground: http://127.0.0.1:$PLAYGROUND_PORT/ (Authorize with the demo key $DEMO_API_KEY,
then Execute; the DELETE goes to the function below, through the page's own origin).
Try it (another terminal; reseed with: make seed):
  curl -i -X DELETE -H 'x-api-key: $DEMO_API_KEY' http://127.0.0.1:$WATCH_PORT/v1/integration/int_yt_abc123
  cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port $WATCH_PORT --data-file events/apigw-http-v2.json disconnect-integration
Token revocation: the DELETE removes the tokens; the table's stream hands the removals to
revoke-tokens (127.0.0.1:$REVOKE_WATCH_PORT), which revokes them at the platform stub
(127.0.0.1:$PLATFORM_STUB_PORT). This terminal then shows "stub: POST /revoke (google) ..." and
"poller: ... -> revoke-tokens answered {"batchItemFailures":[]}"; then:
  make marker ID=int_yt_abc123     # the marker, its "revocation" list: "outcome": "revoked"
Reddit, end to end: the same DELETE of int_rd_demo456 ("stub: POST /api/v1/revoke_token (reddit)").
Consumer log: ${REVOKE_WATCH_LOG#"$ROOT_DIR"/}.
Logs as in Lambda: AWS_LAMBDA_LOG_FORMAT=JSON make dev. Stop with Ctrl-C.

MSG
  # In the foreground, rebuilding on every change.
  cargo lambda watch "${WATCH_ARGS[@]}"
}

# Each step runs, whatever the others did; the summary names the failed ones.
failed=()
steps=0
step() {
  local name="$1" started=$SECONDS; shift
  steps=$((steps + 1))
  echo "==> $name"
  if "$@"; then
    echo "==> $name: ok ($((SECONDS - started)) s)"
  else
    echo "==> $name: FAILED ($((SECONDS - started)) s)"
    failed+=("$name")
  fi
}

# A step in the background, beside the others: its output goes to a log of its own
# (.local/steps/), printed whole when `step_wait` collects it, so no two steps' lines mix.
declare -A bg_step_pid bg_step_log
step_bg() {
  local name="$1"; shift
  local log="$LOCAL_DIR/steps/${name%% *}.log"
  mkdir -p "$LOCAL_DIR/steps"
  # It writes its own duration, so that the summary says how long it took, not how long it
  # waited to be collected.
  (
    started=$SECONDS
    status=0
    "$@" || status=$?
    echo "$((SECONDS - started))" > "$log.seconds"
    exit "$status"
  ) > "$log" 2>&1 < /dev/null &
  bg_step_pid[$name]=$!
  bg_step_log[$name]="$log"
  # Stopped with its children if the run ends first (Ctrl-C, a failed start).
  on_exit "pkill -TERM -P ${bg_step_pid[$name]} 2>/dev/null; kill -TERM ${bg_step_pid[$name]} 2>/dev/null"
  echo "==> $name: started beside the other steps (log: ${log#"$ROOT_DIR"/})"
}
step_wait() {
  local name="$1" status=0
  wait "${bg_step_pid[$name]}" || status=$?
  steps=$((steps + 1))
  echo "==> $name"
  cat "${bg_step_log[$name]}"
  local took
  took="$(cat "${bg_step_log[$name]}.seconds" 2>/dev/null || echo "?")"
  if (( status == 0 )); then
    echo "==> $name: ok ($took s, beside the other steps)"
  else
    echo "==> $name: FAILED ($took s, beside the other steps)"
    failed+=("$name")
  fi
}

# One build for the shipped binaries and every test, with the release profile. The test build
# compiles both functions exactly as they ship: crates/workspace-hack gives every build one
# feature set (crates/stack-checks/tests/stack/features.rs checks each function's CodeUri build
# against the test build, the workspace's own crates included), and the service-backed tests are
# gated by a feature of the fixtures (test-support/local-services), not of the functions. So the
# `cargo build` of both binaries that follows compiles nothing (cargo reuses the test build's
# units), and what it names is what `cargo lambda build --release` makes in each CodeUri folder.
# The binaries are copied out of target/ so that no later build replaces them before the
# black-box tests run them.
SHIPPED_BINARY="$LOCAL_DIR/shipped/bootstrap"
SHIPPED_REVOKE_BINARY="$LOCAL_DIR/shipped/revoke-tokens"
TEST_ARGS=(--workspace --release --locked --all-features)
build_for_tests() {
  cargo test "${TEST_ARGS[@]}" --no-run &&
    cargo build --release --locked -p disconnect-integration -p revoke-tokens --bins &&
    mkdir -p "$(dirname "$SHIPPED_BINARY")" &&
    cp target/release/disconnect-integration "$SHIPPED_BINARY" &&
    cp target/release/revoke-tokens "$SHIPPED_REVOKE_BINARY"
}

# `make test`. The build needs no tool and no service, so it starts first and has the cores
# while the tools install, the services start and the checks of the template, the spec and the
# docs run. Then `make lint` runs beside `cargo test` and the contract test: it checks in the
# same target dir and profile, so it reuses the build's proc-macros and build scripts, and at a
# lower priority, so the tests' timing keeps its margins.
run_test() {
  local started=$SECONDS
  local build="build (every test target, then the shipped binaries; release profile)"
  local lint="lint (make lint: rustfmt, clippy on every target and feature)"
  step_bg "$build" build_for_tests
  services_for_this_run
  # The browser test's Chromium (apt-get, the first time), while the build has the cores.
  bash scripts/bootstrap.sh browser
  step "cfn-lint" cfn-lint template.yaml
  step "cfn-lint with a customer-managed key" cfn-lint template.yaml \
    --parameters KmsKeyArn=arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000
  step "security scan (checkov)" "$SCAN_VENV_DIR/bin/python" scripts/scan-template.py
  step "openapi lint" openapi-spec-validator --schema 3.1 openapi.yaml
  step "doc links (remark-validate-links)" bash scripts/check-doc-links.sh
  step "api-key-entry tests" python3 scripts/tests/test_api_key_entry.py
  step "stream-poller tests (make dev's event source mapping)" "$VENV_PY" scripts/tests/test_stream_poller.py
  step "Secrets Manager stand-in tests (the 65,536-byte limit)" "$VENV_PY" scripts/tests/test_secrets_manager_limit.py
  step "api-keys tool tests (units, compare-and-set, migration)" "$VENV_PY" scripts/tests/test_api_keys_tool.py
  step "platform stub tests (make dev and make bench-revoker)" python3 scripts/tests/test_platform_stub.py
  step "playground server and build tests (make dev, make docs)" "$VENV_PY" scripts/tests/test_playground_server.py
  step_wait "$build"
  step_bg "$lint" nice -n 10 make -s lint
  step "cargo test (unit, integration, shipped binaries, doctests)" \
    env SHIPPED_BINARY="$SHIPPED_BINARY" SHIPPED_REVOKE_BINARY="$SHIPPED_REVOKE_BINARY" \
    cargo test "${TEST_ARGS[@]}" --no-fail-fast
  step "contract test (schemathesis through cargo lambda watch)" bash scripts/contract-test.sh
  step "browser test (the API playground in headless Chromium)" bash scripts/browser-test.sh
  step_wait "$lint"
  if (( ${#failed[@]} )); then echo "test: failed: ${failed[*]}"; fi
  echo "steps: $((steps - ${#failed[@]})) passed, ${#failed[@]} failed, in $((SECONDS - started)) s"
  (( ${#failed[@]} == 0 ))
}

# The playground's picture in docs/ (docs/api.md), made again by the browser test.
run_docs_screenshot() {
  bash scripts/browser-test.sh --docs-screenshot docs/img/playground.png
}

run_soak() {
  cargo build --release --locked --bin disconnect-integration
  mkdir -p "$(dirname "$SHIPPED_BINARY")"
  cp target/release/disconnect-integration "$SHIPPED_BINARY"
  SHIPPED_BINARY="$SHIPPED_BINARY" \
    SOAK_DELETES="${SOAK_DELETES:-2000}" SOAK_CONCURRENCY="${SOAK_CONCURRENCY:-32}" \
    SOAK_INSTANCES="${SOAK_INSTANCES:-4}" \
    cargo test "${TEST_ARGS[@]}" --test shipped soak -- --nocapture
}

# Mutation testing (cargo-mutants) of the code whose tests need no service: each crate is judged
# by its own tests, the root crate's pure modules by its unit tests (`cargo test --lib`). The
# counts go to .local/mutants/<part>/outcomes.json and the summary to stdout; any missed mutant
# fails the target. Not part of `make test`: see docs/testing.md for how long it takes.
MUTANTS_PARTS=(platform-revoke integrations-table revoke-tokens root)
run_mutants() {
  bash scripts/bootstrap.sh mutants
  local mutants="$TOOLS_DIR/cargo/bin/cargo-mutants" part status=0 started=$SECONDS
  local parts=("${@:-${MUTANTS_PARTS[@]}}")
  for part in "${parts[@]}"; do
    # Two jobs, each in a scratch copy of its own; a mutant whose tests outrun 20 s (a retry loop
    # a mutant made endless) counts as caught by timeout.
    local args=(mutants --no-shuffle --jobs 2 --timeout 20 --output "$LOCAL_DIR/mutants/$part")
    case "$part" in
      platform-revoke | integrations-table) args+=(--package "$part") ;;
      # The revoker's pure parts: the rule for one record, and what it records and counts.
      revoke-tokens)
        args+=(--package revoke-tokens
          --file crates/revoke-tokens/src/plan.rs --file crates/revoke-tokens/src/outcome.rs
          -- --lib) ;;
      root)
        args+=(--package disconnect-integration
          --file src/plan.rs --file src/disconnect.rs --file src/store.rs --file src/api_keys/format.rs --file src/api_keys/layout.rs
          --file src/error.rs
          --file src/http/front_door.rs --file src/http/response.rs --file src/http/route.rs
          -- --lib) ;;
      *) echo "mutants: unknown part $part (one of ${MUTANTS_PARTS[*]})" >&2; return 2 ;;
    esac
    echo "==> mutants: $part"
    mkdir -p "$LOCAL_DIR/mutants/$part"
    # The tests mostly wait (timeouts, Retry-After): more threads than cores.
    # The verdict is missed.txt, not the exit code alone: cargo-mutants exits 3 when a mutant
    # timed out (an endless retry loop: caught by timeout, as docs/testing.md counts it), and
    # that code wins over 2 (missed) when both happen (mutants.rs/exit-codes.html). Any other
    # code (a usage error, a failing baseline) fails too.
    local code=0
    RUST_TEST_THREADS=8 "$mutants" "${args[@]}" || code=$?
    if (( code != 0 && code != 2 && code != 3 )); then status=1; fi
    if [[ -s "$LOCAL_DIR/mutants/$part/mutants.out/missed.txt" ]]; then status=1; fi
  done
  echo "mutants: done in $((SECONDS - started)) s; missed mutants: .local/mutants/*/mutants.out/missed.txt"
  return "$status"
}

run_bench() {
  cargo build --release --locked --bin disconnect-integration
  # Its own build: an example may pull in dev-dependencies, which must not touch the function's.
  cargo build --release --locked --example sdk-floor
  cargo build --release --locked --manifest-path bench/hello/Cargo.toml --target-dir target/bench-hello
  "$VENV_PY" bench/bench.py "$@"
  # The key check's own cost by the number of keys (docs/performance.md).
  cargo run --release --locked --example key-lookup
  # The key store at 100,000 keys in 320 units, on the release binary (docs/api-keys.md).
  "$VENV_PY" bench/keys.py
}

# The revoker at burst scale (docs/performance.md, "The revoker at burst scale"): the release
# binary behind a minimal Runtime API, fed one shard's token removals as the template's event
# source mapping would, against the platform stub with a set latency and 429 rate.
run_bench_revoker() {
  cargo build --release --locked -p revoke-tokens --bins
  "$VENV_PY" bench/revoker.py "$@"
}

"run_${command//-/_}" "$@"
