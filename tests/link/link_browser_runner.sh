#!/usr/bin/env bash
# Runs link_browser_test.js with node's test runner, the Node client's
# packages on the module path.
set -euo pipefail
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"

# The SDK's TypeScript types: the good uses compile, and each misuse is
# refused on its own line.
WORK="${TEST_TMPDIR}/types"
mkdir -p "$WORK/node_modules/unified-directory-link"
cp "$ROOT"/tools/clients/link/{index.js,index.d.ts,package.json} \
  "$WORK/node_modules/unified-directory-link/"
cp "$ROOT/tests/link/link_types_check.ts" "$WORK/check.ts"
TSC="$ROOT/tools/clients/node/node_modules/typescript/bin/tsc"
set +e
(cd "$WORK" && node "$TSC" --strict --noEmit --lib es2020,dom check.ts) >"$WORK/tsc.out" 2>&1
set -e
expected="$(grep -n "// ERROR:" "$WORK/check.ts" | cut -d: -f1 | sort -n)"
refused="$(grep -o "^check.ts([0-9]*" "$WORK/tsc.out" | cut -d'(' -f2 | sort -nu)"
if [ -z "$expected" ] || [ "$expected" != "$refused" ]; then
  cat "$WORK/tsc.out" >&2
  echo "FAIL: misuses on lines $(echo $expected) but errors on $(echo $refused)" >&2
  exit 1
fi
echo "types: link_types_check.ts compiles; its $(echo "$expected" | wc -l) misuses are refused"
NODE_PATH="$ROOT/tools/clients/node/node_modules" exec node --test \
  "$ROOT/tests/link/link_browser_test.js"
