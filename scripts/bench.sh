#!/usr/bin/env bash
# `make bench`: cold start, warm latency and peak memory of the release binary
# (bench/coldstart.py), against DynamoDB Local and moto. Starts and seeds the
# services if they are not up, and stops what it started. Arguments go to the
# script, e.g. `make bench ARGS="--invocations 500"`.
set -euo pipefail
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
cargo build --release --locked --bin disconnect-integration
"$VENV_PY" bench/coldstart.py "$@"
