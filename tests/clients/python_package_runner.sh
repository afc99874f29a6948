#!/usr/bin/env bash
# The Python package as a user gets it: the README's install commands (a
# virtual environment over Debian's grpcio and protobuf, then pip with no
# index) run in a copy of the repository's package sources, then the
# README's first call run by that environment's python, from elsewhere,
# against the fixture's service.
set -euo pipefail
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"
WORK="${TEST_TMPDIR}/python_package"
rm -rf "$WORK"
README_BLOCK=(/usr/bin/python3 "$ROOT/tests/clients/readme_block.py"
              "$ROOT/README.md" "## Client packages")

REPO="$WORK/repo"
mkdir -p "$REPO/tools/clients/python/unified_directory" "$REPO/proto/unified/v1" \
  "$REPO/tools/protos"
cp "$ROOT"/tools/clients/python/{pyproject.toml,relocate_stubs.py,setup.py} \
  "$REPO/tools/clients/python/"
cp "$ROOT"/tools/clients/python/unified_directory/*.py \
  "$REPO/tools/clients/python/unified_directory/"
cp "$ROOT"/proto/unified/v1/*.proto "$REPO/proto/unified/v1/"
cp "$ROOT/tools/protos/google_rpc_protos.py" "$REPO/tools/protos/"

"${README_BLOCK[@]}" sh 0 >"$WORK/install.sh"
(cd "$REPO" && HOME="$WORK/home" PIP_DISABLE_PIP_VERSION_CHECK=1 \
  PATH="/usr/bin:/bin" bash -euo pipefail "$WORK/install.sh" >"$WORK/install.log" 2>&1) || {
  cat "$WORK/install.log" >&2
  echo "FAIL: the README's install commands failed" >&2
  exit 1
}
PYTHON="$REPO/.venv/bin/python"
# Installed, with its generated stubs, and imported from the environment,
# not from the sources.
mkdir -p "$WORK/elsewhere"
cd "$WORK/elsewhere"
where="$("$PYTHON" -c 'import unified_directory, os; print(os.path.dirname(unified_directory.__file__))')"
case "$where" in
  "$REPO/.venv/"*) ;;
  *) echo "FAIL: unified_directory imported from $where" >&2; exit 1 ;;
esac
if [ ! -f "$where/_gen/proto/unified/v1/user_directory_pb2_grpc.py" ]; then
  echo "FAIL: the installed package has no generated stubs" >&2
  exit 1
fi

# Beside a package named `proto` (proto-plus's module, which every
# google-cloud library brings): the client puts no `proto` of its own on the
# path, so both import and neither hides the other.
mkdir -p beside/proto
echo 'MARKER = "proto-plus"' >beside/proto/__init__.py
PYTHONPATH="$PWD/beside" "$PYTHON" -c '
import proto
import unified_directory
import sys
assert proto.MARKER == "proto-plus", proto
assert "google.rpc" not in sys.modules, "a top-level google.rpc"
assert unified_directory.user_directory_pb2.ListUsersRequest
' || { echo "FAIL: unified_directory beside a package named proto" >&2; exit 1; }

"${README_BLOCK[@]}" python 0 | sed "s/127\.0\.0\.1:50051/$UNIFIED_ADDR/" >first_call.py
KEY="$UNIFIED_API_KEY" ACCOUNT="$UNIFIED_ACCOUNT" PYTHONPATH="$PWD/beside" \
  "$PYTHON" first_call.py | tee out.txt
grep -qx "me: .\+" out.txt
grep -qx "users: 150" out.txt  # The BUILD asks for 150 users.
grep -qx "error: INVALID_ARGUMENT INVALID_CURSOR" out.txt
echo "python package: installed by pip; the README's first call works"
