# shellcheck shell=bash
# Local environment shared by every script and make target. Source it:
#   source scripts/lib/env.sh
# Only the ports may be overridden from the calling shell; everything else is
# the fixed local/demo setup (the Rust tests use the same values).
# Nothing here is a real credential, and nothing here ever points at AWS.

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT_DIR
export TOOLS_DIR="$ROOT_DIR/.tools"       # installed tools (git-ignored)
export LOCAL_DIR="$ROOT_DIR/.local"       # pids, logs, scratch (git-ignored)
export VENV_DIR="$TOOLS_DIR/venv"
export VENV_PY="$VENV_DIR/bin/python"
export SCAN_VENV_DIR="$TOOLS_DIR/scan-venv"      # checkov: make test's template scan
export BUILD_VENV_DIR="$TOOLS_DIR/build-venv"   # sam, cargo-lambda, zig: make build, sam validate

# Tools installed by scripts/bootstrap.sh come first (cargo-lambda, moto_server, cfn-lint).
case ":$PATH:" in
  *":$VENV_DIR/bin:"*) ;;
  *) export PATH="$VENV_DIR/bin:$PATH" ;;
esac

# Ports (override from the shell if they clash with something on your machine).
export DYNAMODB_PORT="${DYNAMODB_PORT:-8765}"
export MOTO_PORT="${MOTO_PORT:-8766}"
export WATCH_PORT="${WATCH_PORT:-9765}"   # cargo lambda watch invoke port
# make dev's token revocation: the consumer (revoke-tokens) under its own cargo lambda watch, and
# the stub platform server it revokes at.
export REVOKE_WATCH_PORT="${REVOKE_WATCH_PORT:-$((WATCH_PORT + 1))}"
export PLATFORM_STUB_PORT="${PLATFORM_STUB_PORT:-$((WATCH_PORT + 2))}"
# The API playground (make dev, the browser test): the page, and /v1/* passed to the function's
# cargo lambda watch on $WATCH_PORT (scripts/local/playground-server.py).
export PLAYGROUND_PORT="${PLAYGROUND_PORT:-$((WATCH_PORT + 3))}"

# AWS SDK settings: local endpoints, dummy credentials, no profile/IMDS lookups.
export AWS_REGION="us-east-1"
export AWS_DEFAULT_REGION="$AWS_REGION"
export AWS_ACCESS_KEY_ID="local"
export AWS_SECRET_ACCESS_KEY="local"
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$MOTO_PORT"

# What the function reads.
export TABLE_NAME="integrations-local"
export API_KEYS_SECRET_ID="local/api-keys"
export MARKER_TTL_DAYS="${MARKER_TTL_DAYS:-90}"
export API_KEYS_CACHE_TTL_SECONDS="${API_KEYS_CACHE_TTL_SECONDS:-5}"  # short locally so reseeded keys show up fast
# What the consumer (revoke-tokens) reads besides TABLE_NAME: the platforms' client ids and
# secrets (fake ones locally, seeded by seed.py). Its REVOKE_ENDPOINT_* point at the stub only in
# make dev (scripts/run.sh), so nothing else that sources this file is sent to the stub.
export REVOKE_CREDENTIALS_SECRET_ID="local/revoke-credentials"

# The demo key (plaintext, fake) used by events/ and the smoke test.
export DEMO_API_KEY="demo_local_key_do_not_use_in_prod"
