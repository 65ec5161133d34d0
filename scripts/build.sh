#!/usr/bin/env bash
# `make build`: the deployable artefact for Lambda (provided.al2023, arm64), without Docker.
#   1. `scripts/bootstrap.sh build`: .tools/build-venv (aws-sam-cli, cargo-lambda, ziglang)
#      and the rustup target aarch64-unknown-linux-gnu, when missing.
#   2. `sam validate --lint` (the SAM transform and SAM's cfn-lint rules, offline: env.sh's
#      dummy credentials and region are all it needs; the template names no managed policy
#      that would need an IAM look-up), and scripts/check-transform.py (AWS::LanguageExtensions
#      then SAM, as CloudFormation runs them, for classic Lambda and Managed Instances), then
#      `cargo lambda build --release --arm64 --bin <binary> --locked` in each function's
#      CodeUri (disconnect-integration in ., revoke-tokens in crates/revoke-tokens): the
#      command SAM's rust-cargolambda build method runs, plus --locked (SAM cannot pass it),
#      with its progress shown (SAM prints cargo's output only when it fails). zig is the
#      C compiler and linker for aarch64 (ring's few C and assembly files included); it links
#      against glibc 2.28-era symbols, well under AL2023's 2.34.
#   3. `sam build --beta-features` (the rust-cargolambda method is a beta feature): reruns
#      the same cargo commands, no-ops by then, and writes .aws-sam/build/: the template
#      for `sam deploy`, DisconnectIntegrationFunction/bootstrap and RevokeTokensFunction/bootstrap.
#   4. Checks that each bootstrap is an aarch64 Linux ELF executable and prints `file` and size;
#      fails when the DELETE function's is 8,000,000 bytes or more (SIZE_BUDGET).
# The release profile (codegen-units = 1, no LTO) makes a cold build take minutes; it is
# not part of `make test`. Uses the default target/ (or CARGO_TARGET_DIR if set).
set -euo pipefail
# shellcheck source=scripts/lib/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$ROOT_DIR"

# Each function of the template and its binary.
# Each function of the template, its binary, and its CodeUri (SAM's rust-cargolambda method
# runs `cargo lambda build --bin <binary>` there; a binary of another workspace member needs its
# crate's folder).
FUNCTIONS=(DisconnectIntegrationFunction RevokeTokensFunction)
BINS=(disconnect-integration revoke-tokens)
CODE_URIS=(. crates/revoke-tokens)
BUILD_DIR="$ROOT_DIR/.aws-sam/build"
# The DELETE function's bootstrap stays under 8 MB (issue 29); the build fails above it.
SIZE_BUDGET=8000000

die() { echo "build: $*" >&2; exit 1; }

started=$SECONDS
bash scripts/bootstrap.sh build

# The build venv's sam and cargo-lambda come first. zig is the pinned one from the venv,
# whatever `zig` may be on PATH. No telemetry from SAM.
export PATH="$BUILD_VENV_DIR/bin:$PATH"
CARGO_ZIGBUILD_ZIG_PATH="$("$BUILD_VENV_DIR/bin/python" -c \
  'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
[[ -x "$CARGO_ZIGBUILD_ZIG_PATH" ]] || die "zig not found in .tools/build-venv (ziglang package)"
export CARGO_ZIGBUILD_ZIG_PATH
export SAM_CLI_TELEMETRY=0

# The SAM transform and lint, before minutes of compiling.
echo "build: sam validate --lint"
sam validate --lint --template-file template.yaml
# `sam validate` does not run AWS::LanguageExtensions: the deployed transform, both modes.
echo "build: scripts/check-transform.py (AWS::LanguageExtensions + SAM, classic and managed instances)"
"$BUILD_VENV_DIR/bin/python" scripts/check-transform.py template.yaml

for i in "${!BINS[@]}"; do
  echo "build: (in ${CODE_URIS[$i]}) cargo lambda build --release --arm64 --bin ${BINS[$i]} --locked"
  (cd "${CODE_URIS[$i]}" && cargo lambda build --release --arm64 --bin "${BINS[$i]}" --locked)
done

echo "build: sam build --beta-features"
rm -rf "$BUILD_DIR"
sam build --beta-features --template-file template.yaml --build-dir "$BUILD_DIR"

for function_id in "${FUNCTIONS[@]}"; do
ARTEFACT="$BUILD_DIR/$function_id/bootstrap"
[[ -f "$ARTEFACT" ]] || die "sam build did not produce $ARTEFACT"
# The hard check, without relying on file(1): a 64-bit little-endian aarch64 ELF executable
# (PIE counts) with a program interpreter, needing no glibc newer than AL2023's 2.34.
"$BUILD_VENV_DIR/bin/python" - "$ARTEFACT" <<'PY' || die "$ARTEFACT is not a Lambda arm64 executable"
import re, struct, sys
path = sys.argv[1]
data = open(path, "rb").read()
problems = []
if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
    sys.exit(f"build: {path}: not a 64-bit little-endian ELF file")
e_type, e_machine = struct.unpack_from("<HH", data, 16)
if e_machine != 183:
    problems.append(f"machine {e_machine}, not 183 (aarch64)")
if e_type not in (2, 3):
    problems.append(f"ELF type {e_type}, not an executable")
e_phoff, = struct.unpack_from("<Q", data, 32)
e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
types = [struct.unpack_from("<I", data, e_phoff + i * e_phentsize)[0] for i in range(e_phnum)]
if 3 not in types:  # PT_INTERP: an executable, not a shared library
    problems.append("no program interpreter")
glibc = sorted({tuple(map(int, v.split(b"."))) for v in re.findall(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)", data)})
if glibc and glibc[-1] > (2, 34):
    problems.append(f"needs glibc {'.'.join(map(str, glibc[-1]))}, AL2023 has 2.34")
if problems:
    sys.exit(f"build: {path}: " + "; ".join(problems))
newest = ".".join(map(str, glibc[-1])) if glibc else "none"
print(f"build: checked: aarch64 ELF executable, newest glibc symbol version {newest}")
PY

if command -v file >/dev/null 2>&1; then
  file "$ARTEFACT"
fi
size="$(stat -c %s "$ARTEFACT")"
echo "build: $ARTEFACT: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }') MiB)"
# The DELETE function's size budget: under 8 MB (8,000,000 bytes), docs/performance.md, "Size".
if [[ "$function_id" == DisconnectIntegrationFunction ]] && (( size >= SIZE_BUDGET )); then
  die "$ARTEFACT is $size bytes, over its budget of $SIZE_BUDGET (docs/performance.md, \"Size\")"
fi
done
echo "build: done in $((SECONDS - started))s; deploy with: sam deploy --guided (see README, Deploy)"
