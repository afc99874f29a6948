#!/usr/bin/env bash
# The README's grpcurl walkthrough: every command names a real method, its
# JSON parses into the request type, and it works against the real server.
set -euo pipefail
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/clients/example_env.sh"
CLIENT="$RUNFILES/tools/clients/python"
export PYTHONPATH="$CLIENT:$CLIENT/gen"
# A linked account, as the demo has one.
ACCOUNT="$(/usr/bin/python3 - "$ADDRESS" "$API_KEY" <<'PY'
import sys
from unified_directory import Client, integrated_accounts_pb2
client = Client(sys.argv[1], sys.argv[2])
print(client.accounts.LinkWithPassword(
    integrated_accounts_pb2.LinkWithPasswordRequest(
        username="demo@example.com", password="demo-password")).id)
PY
)"
/usr/bin/python3 "$RUNFILES/tests/clients/check_readme.py" \
  --readme="$RUNFILES/README.md" --address="$ADDRESS" --api_key="$API_KEY" \
  --account="$ACCOUNT"
