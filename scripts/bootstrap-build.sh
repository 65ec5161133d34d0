#!/usr/bin/env bash
# Installs what the release build (`make build`, scripts/build.sh) needs and `make test`
# does not, from the registries only:
#   .tools/build-venv                Python venv: aws-sam-cli, cargo-lambda, ziglang (zig cc
#                                    is the cross linker/C compiler for aarch64), pinned by
#                                    scripts/requirements-build.txt + constraints-build.txt
#   rustup target aarch64-unknown-linux-gnu   the standard library for Lambda's arm64
# A separate venv from .tools/venv: aws-sam-cli pins its own boto3/pydantic/click, which
# clash with the test tools' pins. Idempotent: the venv is rebuilt only when its stamp
# (hash of the two pin files) changes; the rustup target is added only when missing.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

BUILD_VENV_PY="$BUILD_VENV_DIR/bin/python"
REQS="$ROOT_DIR/scripts/requirements-build.txt"
CONSTRAINTS="$ROOT_DIR/scripts/constraints-build.txt"
RUST_TARGET="aarch64-unknown-linux-gnu"

die() { echo "bootstrap-build: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found. $2"; }

need python3 "Install Python 3.10+ with the venv module."
need cargo "Install Rust with rustup (https://rustup.rs)."
need rustup "The aarch64 standard library is added with rustup; install Rust with rustup."

mkdir -p "$TOOLS_DIR"

# --- Python venv: sam, cargo-lambda, zig ---------------------------------------
# shellcheck source=scripts/lib-venv.sh
source "$ROOT_DIR/scripts/lib-venv.sh"
pinned_venv "$BUILD_VENV_DIR" "$REQS" "$CONSTRAINTS"

# --- Rust standard library for the Lambda target ---------------------------------
if ! rustup target list --installed | grep -qx "$RUST_TARGET"; then
  echo "bootstrap-build: rustup target add $RUST_TARGET"
  rustup target add "$RUST_TARGET"
fi

echo "bootstrap-build: ok ($("$BUILD_VENV_DIR/bin/sam" --version), $("$BUILD_VENV_DIR/bin/cargo-lambda" lambda --version | head -1), zig $("$BUILD_VENV_PY" -m ziglang version), rust target $RUST_TARGET)"
