#!/usr/bin/env bash
# Runs python_client_test.py on Debian's python3 with the package and its
# generated stubs on the path; the arguments name the test cases.
set -euo pipefail
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"
CLIENT="$ROOT/tools/clients/python"
PYTHONPATH="$CLIENT:$CLIENT/gen" exec /usr/bin/python3 \
  "$ROOT/tests/clients/python_client_test.py" "$@"
