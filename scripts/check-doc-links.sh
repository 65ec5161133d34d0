#!/usr/bin/env bash
# Every relative link and #anchor of the Markdown docs resolves (remark-validate-links, offline:
# files and headings of this checkout only, no network). `make test` runs it.
set -euo pipefail
# shellcheck source=scripts/lib/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$ROOT_DIR"
node_modules="$TOOLS_DIR/node/node_modules"
"$node_modules/.bin/remark" --no-config --frail --quiet --no-stdout \
  --use "$node_modules/remark-validate-links/index.js=repository:false" \
  README.md docs/ scripts/README.md 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
exit "${PIPESTATUS[0]}"
