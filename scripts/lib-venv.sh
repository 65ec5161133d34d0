# shellcheck shell=bash
# One pinned Python venv, for bootstrap.sh (.tools/venv) and bootstrap-build.sh
# (.tools/build-venv). Source it, then:
#
#   pinned_venv DIR REQUIREMENTS CONSTRAINTS
#
# Creates DIR if needed and installs REQUIREMENTS under CONSTRAINTS (all transitive pins), only
# when the venv is missing or the two files changed since the last install (a stamp in DIR
# holds their hash). Prints what it does; fails with a hint if venv creation fails.

pinned_venv() {
  local dir="$1" reqs="$2" constraints="$3" want
  want="$(cat "$reqs" "$constraints" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$dir/bin/python" && "$(cat "$dir/.stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  echo "venv: installing $(basename "$reqs") into ${dir#"$ROOT_DIR"/}"
  local started=$SECONDS
  [[ -x "$dir/bin/python" ]] || python3 -m venv "$dir" || {
    echo "venv: python3 -m venv failed (Debian: apt-get install python3-venv)." >&2
    return 1
  }
  "$dir/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    -r "$reqs" -c "$constraints"
  echo "$want" > "$dir/.stamp"
  echo "venv: ${dir#"$ROOT_DIR"/} ready in $((SECONDS - started))s"
}
