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
  "$REPO/tools/protos" "$REPO/tools/clients/python/build_backend"
cp "$ROOT"/tools/clients/python/{pyproject.toml,relocate_stubs.py} \
  "$REPO/tools/clients/python/"
cp "$ROOT"/tools/clients/python/build_backend/*.py \
  "$REPO/tools/clients/python/build_backend/"
cp "$ROOT"/tools/clients/python/unified_directory/{*.py,*.pyi,py.typed} \
  "$REPO/tools/clients/python/unified_directory/"
cp "$ROOT"/proto/unified/v1/*.proto "$REPO/proto/unified/v1/"
cp "$ROOT/tools/protos/google_rpc_protos.py" "$REPO/tools/protos/"

# The README's second block: offline, over Debian's grpcio and protobuf.
"${README_BLOCK[@]}" sh 1 >"$WORK/install.sh"
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
for typed in py.typed client.pyi aio.pyi _gen/proto/unified/v1/resources_pb2.pyi; do
  [ -f "$where/$typed" ] || { echo "FAIL: the installed package has no $typed" >&2; exit 1; }
done

# Whichever python3 runs pip: every interpreter found here builds and
# installs the package with its own pip: Debian's, a virtual environment's
# with nothing but pip and setuptools (no wheel, no grpcio), and whichever
# python3 came first on the PATH the test was given. With no index here,
# the dependencies are not fetched (--no-deps); an interpreter of Debian's
# minor version then runs it over Debian's grpcio and protobuf.
/usr/bin/python3 -m venv "$WORK/bare"
interpreters=(/usr/bin/python3 "$WORK/bare/bin/python3")
first="$(command -v python3 || true)"
[ -n "$first" ] && interpreters+=("$first")
debian_minor="$(/usr/bin/python3 -c 'import sys; print(sys.version_info[:2])')"
n=0
for py in "${interpreters[@]}"; do
  n=$((n + 1))
  target="$WORK/foreign$n"
  (cd "$REPO" && HOME="$WORK/home" PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$py" -m pip install --no-index --no-deps --target "$target" \
    tools/clients/python >"$WORK/foreign$n.log" 2>&1) || {
    cat "$WORK/foreign$n.log" >&2
    echo "FAIL: pip of $py ($("$py" --version 2>&1)) did not install the package" >&2
    exit 1
  }
  [ -f "$target/unified_directory/_gen/proto/unified/v1/user_directory_pb2_grpc.py" ] ||
    { echo "FAIL: $py's install has no stubs" >&2; exit 1; }
  if [ "$("$py" -c 'import sys; print(sys.version_info[:2])')" = "$debian_minor" ]; then
    PYTHONPATH="$target:/usr/lib/python3/dist-packages" "$py" -c '
import unified_directory, sys
assert unified_directory.__file__.startswith(sys.argv[1]), unified_directory.__file__
assert unified_directory.user_directory_pb2.ListUsersRequest
' "$target" || { echo "FAIL: $py cannot import its install" >&2; exit 1; }
  fi
  echo "installed by the pip of $py ($("$py" --version 2>&1))"
done

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
