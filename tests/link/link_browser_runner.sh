#!/usr/bin/env bash
# Runs link_browser_test.js with node's test runner, the Node client's
# packages on the module path.
set -euo pipefail
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"
NODE_PATH="$ROOT/tools/clients/node/node_modules" exec node --test \
  "$ROOT/tests/link/link_browser_test.js"
