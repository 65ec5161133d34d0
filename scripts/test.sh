#!/usr/bin/env bash
# The whole test run (`make test`, CI): bootstrap, services, seed, then the steps:
# cargo test (unit + integration tests against DynamoDB Local and moto), the
# events/ smoke test and the schemathesis contract test (both through cargo
# lambda watch), cfn-lint and `sam validate --lint` on template.yaml, the
# OpenAPI lint, and the api-key-entry tests.
# Every step runs; the exit code is non-zero if any failed. Services started
# here are stopped on exit. The release cross-build is `make build`, not here.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"

# shellcheck source=scripts/lib-services.sh
source scripts/lib-services.sh
services_for_this_run

failed=()
steps=0
step() {
  local name="$1"; shift
  steps=$((steps + 1))
  echo "==> $name"
  if "$@"; then echo "==> $name: ok"; else echo "==> $name: FAILED"; failed+=("$name"); fi
}

step "cargo test" cargo test --all-targets --locked
step "events smoke test" bash scripts/events-smoke.sh
step "contract test" bash scripts/contract-test.sh
step "cfn-lint" cfn-lint template.yaml
step "sam validate --lint" bash scripts/sam-validate.sh
step "openapi lint" openapi-spec-validator --schema 3.1 openapi.yaml
step "api-key-entry test" python3 scripts/test_api_key_entry.py

if (( ${#failed[@]} )); then
  echo "test.sh: failed: ${failed[*]}"
fi
echo "steps: $((steps - ${#failed[@]})) passed, ${#failed[@]} failed"
(( ${#failed[@]} == 0 ))
