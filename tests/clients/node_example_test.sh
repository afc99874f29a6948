#!/usr/bin/env bash
# The Node.js example against the real server and simulator: it links the
# demo account, lists workspaces, streams every user, and reads rich errors.
# Podio's first /user/status answer is a 420 naming a 2-second wait. The
# server requires mutual TLS (the build's test CA and client certificate).
set -euo pipefail
EXAMPLE_TLS=1
SIM_FLAGS='--faults=[{"path":"/user/status","kind":"rate_limit","wait_seconds":2,"times":1}]'
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/clients/example_env.sh"

CLIENT="$RUNFILES/tools/clients/node"
if [ ! -d "$CLIENT/node_modules/@grpc/grpc-js" ]; then
  echo "FAIL: tools/clients/node/node_modules is missing; run tools/setup" >&2
  exit 1
fi
OUT="$ENV_DIR/example.out"
node "$CLIENT/example.js" --address="$ADDRESS" --api_key="$API_KEY" \
  "${TLS_ARGS[@]}" \
  --include="$RUNFILES:$RUNFILES/tools/protos:/usr/include" >"$OUT"
cat "$OUT"

check_example_output "$OUT"
echo "node example: all expectations met"
