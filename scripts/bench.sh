#!/usr/bin/env bash
# `make bench`: cold start, warm latency and peak memory of the release binary
# (bench/coldstart.py), against DynamoDB Local and moto. Starts and seeds the
# services if they are not up, and stops what it started. Arguments go to the
# script, e.g. `make bench ARGS="--invocations 500"`.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"

# shellcheck source=scripts/lib-services.sh
source scripts/lib-services.sh
services_for_this_run
cargo build --release --locked --bin disconnect-integration
"$VENV_PY" bench/coldstart.py "$@"
