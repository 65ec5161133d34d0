#!/usr/bin/env bash
# The whole test run (`make test`, CI): bootstrap, services, seed, cargo test,
# the events smoke test, then cfn-lint. Every step runs; the exit code is
# non-zero if any failed. Services started here are stopped on exit.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"

bash scripts/bootstrap.sh

started_services=0
if ! bash scripts/services.sh status >/dev/null 2>&1; then
  bash scripts/services.sh start
  started_services=1
fi
cleanup() { if [[ "$started_services" == 1 ]]; then bash scripts/services.sh stop; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$VENV_PY" scripts/seed.py

failed=()
step() {
  local name="$1"; shift
  echo "==> $name"
  if "$@"; then echo "==> $name: ok"; else echo "==> $name: FAILED"; failed+=("$name"); fi
}

step "cargo test" cargo test --all-targets --locked
step "events smoke test" bash scripts/events-smoke.sh
step "contract test" bash scripts/contract-test.sh
step "cfn-lint" cfn-lint template.yaml
step "openapi lint" openapi-spec-validator --schema 3.1 openapi.yaml
step "api-key-entry test" python3 scripts/test_api_key_entry.py

if (( ${#failed[@]} )); then
  echo "test.sh: failed: ${failed[*]}"
  exit 1
fi
echo "test.sh: all steps passed"
