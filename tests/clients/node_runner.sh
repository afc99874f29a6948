#!/usr/bin/env bash
# Runs a Node.js test of this directory with node's test runner:
#   node_runner.sh SCRIPT.js
set -euo pipefail
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"
NODE_PATH="$ROOT/tools/clients/node/node_modules" exec node --test \
  "$ROOT/tests/clients/$1"
