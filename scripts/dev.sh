#!/usr/bin/env bash
# `make dev`: bootstrap, start and seed the local services, then run
# `cargo lambda watch` on 127.0.0.1:$WATCH_PORT (default 9765) with the local env.
# Services started here are stopped when watch exits (Ctrl-C included).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"

# shellcheck source=scripts/lib-services.sh
source scripts/lib-services.sh
services_for_this_run

cat <<MSG

Try it (another terminal; reseed with: make seed):
  curl -i -X DELETE -H 'x-api-key: $DEMO_API_KEY' http://127.0.0.1:$WATCH_PORT/v1/integration/int_yt_abc123
  cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port $WATCH_PORT --data-file events/apigw-http-v2.json disconnect-integration

MSG
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --locked
