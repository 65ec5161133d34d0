#!/usr/bin/env bash
# `sam validate --lint` on template.yaml: the SAM transform plus SAM's cfn-lint rules, offline
# (env.sh's dummy credentials and region are all it needs; the template names no managed
# policy that would need an IAM look-up). Part of `make test` and of `make build`.
# Installs the build tools (.tools/build-venv, scripts/bootstrap-build.sh) when missing.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"

bash scripts/bootstrap-build.sh >/dev/null
export SAM_CLI_TELEMETRY=0
"$BUILD_VENV_DIR/bin/sam" validate --lint --template-file template.yaml
