#!/usr/bin/env bash
# Runs deploy_test.py on Debian's python3 (python3-yaml).
set -euo pipefail
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"
exec /usr/bin/python3 "$ROOT/deploy/deploy_test.py" "$ROOT/service/server" "$ROOT/deploy"
