#!/usr/bin/env bash
# The Node.js package as a user gets it: packed by `npm pack` (its prepack
# writes protos/ and the generated types/), unpacked into an application's
# node_modules beside its dependencies, its types compiled by TypeScript
# (node_types_check.ts must pass, each misuse in node_types_misuse.ts must
# be refused), then node_client_test.js and the README's first call run
# against the fixture's service.
#
#   node_package_runner.sh [TEST.js]
# With a test file, only that file runs, on the installed package.
set -euo pipefail
ONLY="${1:-}"
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"
MODULES="$ROOT/tools/clients/node/node_modules"
WORK="${TEST_TMPDIR}/node_package"
rm -rf "$WORK"

# The parts of the repository the package is packed from.
REPO="$WORK/repo"
mkdir -p "$REPO/tools/clients/node" "$REPO/proto/unified/v1" "$REPO/tools/protos"
cp "$ROOT"/tools/clients/node/{client.js,index.d.ts,pack.js,package.json,verify_webhook.js} \
  "$REPO/tools/clients/node/"
cp "$ROOT"/proto/unified/v1/*.proto "$REPO/proto/unified/v1/"
cp "$ROOT/tools/protos/google_rpc_protos.py" "$REPO/tools/protos/"
ln -s "$MODULES" "$REPO/tools/clients/node/node_modules"
(cd "$REPO/tools/clients/node" &&
  HOME="$WORK/home" npm_config_cache="$WORK/npm-cache" npm_config_update_notifier=false \
  npm pack --offline --loglevel=error --pack-destination "$WORK" >/dev/null)
TARBALL="$(ls "$WORK"/unified-directory-client-*.tgz)"

# Installed as npm lays it out: the package and its dependencies side by side.
APP="$WORK/app"
mkdir -p "$APP/node_modules"
tar -xzf "$TARBALL" -C "$WORK"
mv "$WORK/package" "$APP/node_modules/unified-directory-client"
for dependency in "$MODULES"/*; do
  ln -s "$dependency" "$APP/node_modules/"
done
for file in client.js index.d.ts protos/proto/unified/v1/user_directory.proto \
    protos/google/rpc/error_details.proto types/unified/v1/User.ts; do
  if [ ! -f "$APP/node_modules/unified-directory-client/$file" ]; then
    echo "FAIL: the packed package lacks $file" >&2
    exit 1
  fi
done

if [ -n "$ONLY" ]; then
  cp "$ROOT/tests/clients/$ONLY" "$ROOT/tests/clients/node_fixture.js" "$APP/"
  cd "$APP"
  exec node --test "$ONLY"
fi

TSC=(node "$MODULES/typescript/bin/tsc" --noEmit --strict --target es2020
     --module commonjs --moduleResolution node --skipLibCheck)
cp "$ROOT/tests/clients/node_types_check.ts" "$ROOT/tests/clients/node_types_misuse.ts" "$APP/"
(cd "$APP" && "${TSC[@]}" node_types_check.ts)
# Each `// ERROR:` marker must be refused on its own line, and no other line
# may be: a misuse that compiles is a type that lets it through, even when
# another line's error keeps the count.
(cd "$APP" && "${TSC[@]}" node_types_misuse.ts) >"$APP/misuse.out" 2>&1 || true
refused="$(sed -nE 's/^node_types_misuse\.ts\(([0-9]+),[0-9]+\): error TS.*/\1/p' \
  "$APP/misuse.out" | sort -un)"
expected="$(grep -n '// ERROR:' "$APP/node_types_misuse.ts" | cut -d: -f1 | sort -un)"
if [ -z "$expected" ] || [ "$refused" != "$expected" ]; then
  echo "FAIL: the lines TypeScript refused in node_types_misuse.ts" \
    "($(echo $refused)) are not the lines marked // ERROR: ($(echo $expected)):" >&2
  cat "$APP/misuse.out" >&2
  exit 1
fi
expected="$(echo "$expected" | wc -l)"
echo "types: node_types_check.ts compiles; the $expected misuses are refused"

cp "$ROOT/tests/clients/node_client_test.js" "$ROOT/tests/clients/node_fixture.js" "$APP/"
cd "$APP"
node --test node_client_test.js

/usr/bin/python3 "$ROOT/tests/clients/readme_block.py" "$ROOT/README.md" \
  "## Client packages" js | sed "s/127\.0\.0\.1:50051/$UNIFIED_ADDR/" >first_call.js
KEY="$UNIFIED_API_KEY" ACCOUNT="$UNIFIED_ACCOUNT" node first_call.js | tee out.txt
grep -qx "me: .\+" out.txt
grep -qx "users: 5000" out.txt  # The BUILD asks for 5,000 users.
grep -qx "error: INVALID_ARGUMENT INVALID_CURSOR" out.txt
echo "node package: packed, installed, typed; the README's first call works"
