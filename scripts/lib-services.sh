# shellcheck shell=bash
# The common start of dev.sh, test.sh and bench.sh: install the tools, start DynamoDB Local
# and moto unless they already run on this shell's ports, stop them again on exit if this
# script started them, and seed the demo state. Source it after env.sh and `cd "$ROOT_DIR"`,
# then call:
#
#   services_for_this_run

services_for_this_run() {
  bash scripts/bootstrap.sh
  _services_started=0
  if ! bash scripts/services.sh status >/dev/null 2>&1; then
    bash scripts/services.sh start
    _services_started=1
  fi
  trap _services_cleanup EXIT
  trap 'exit 130' INT TERM
  "$VENV_PY" scripts/seed.py
}

_services_cleanup() {
  if [[ "${_services_started:-0}" == 1 ]]; then bash scripts/services.sh stop; fi
}
