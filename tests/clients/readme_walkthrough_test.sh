#!/usr/bin/env bash
# The grpcurl commands of the README, docs/walkthrough.md, docs/api.md and
# docs/watching.md, each run against the real server on the
# demo's directory (tools/run: 2,000 users, 2 organizations, 3 workspaces
# each), and the outputs the README shows compared with the answers
# (check_readme.py).
set -euo pipefail
SIM_FLAGS="--users=2000 --orgs=2 --spaces_per_org=3"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/clients/example_env.sh"
CLIENT="$RUNFILES/tools/clients/python"
export PYTHONPATH="$CLIENT"
export GRPC_PY_MESSAGES="$RUNFILES/tests/clients/grpc_py"
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
  --readme="$RUNFILES/README.md" --readme="$RUNFILES/docs/walkthrough.md" \
  --readme="$RUNFILES/docs/api.md" --readme="$RUNFILES/docs/watching.md" \
  --address="$ADDRESS" --api_key="$API_KEY" \
  --account="$ACCOUNT" ${CHECK_README_FLAGS:-}
