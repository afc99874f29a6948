#!/usr/bin/env bash
# The Python example against the real server and simulator: it links the
# demo account, lists workspaces, streams every user, and reads rich errors.
# Podio's first /user/status answer is a 420 naming a 2-second wait. The
# server requires mutual TLS (the build's test CA and client certificate).
set -euo pipefail
EXAMPLE_TLS=1
SIM_FLAGS='--faults=[{"path":"/user/status","kind":"rate_limit","wait_seconds":2,"times":1}]'
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/clients/example_env.sh"

CLIENT="$RUNFILES/tools/clients/python"
OUT="$ENV_DIR/example.out"
# -P: the script's own folder (through the runfiles link, the source tree,
# which lacks the generated stubs) is not put first on the path.
PYTHONPATH="$CLIENT" /usr/bin/python3 -P "$CLIENT/example.py" \
  --address="$ADDRESS" --api_key="$API_KEY" "${TLS_ARGS[@]}" >"$OUT"
cat "$OUT"

check_example_output "$OUT"
echo "python example: all expectations met"
