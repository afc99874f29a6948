#!/usr/bin/env bash
# Runs a Python test of this directory on Debian's python3 with the client
# package and its generated stubs on the path:
#   python_runner.sh SCRIPT.py [ARGS...]
set -euo pipefail
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"
CLIENT="$ROOT/tools/clients/python"
script="$1"
shift
PYTHONPATH="$CLIENT" exec /usr/bin/python3 \
  "$ROOT/tests/clients/$script" "$@"
