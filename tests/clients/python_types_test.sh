#!/usr/bin/env bash
# The Python client's type hints (py.typed, the .pyi files beside its
# modules and the generated messages' .pyi) checked by Debian's mypy: every
# line of python_types_check.py passes, and each line of
# python_types_misuse.py marked "# ERROR:" is refused, no other.
set -euo pipefail
ROOT="${TEST_SRCDIR}/${TEST_WORKSPACE}"
CLIENT="$ROOT/tools/clients/python"
WORK="${TEST_TMPDIR}/types"
mkdir -p "$WORK"
cp "$ROOT"/tests/clients/python_types_{check,misuse}.py "$WORK/"
cd "$WORK"
MYPY=(env MYPYPATH="$CLIENT" /usr/bin/mypy --ignore-missing-imports
      --follow-imports=silent --disable-error-code=import
      --no-error-summary --cache-dir="$WORK/cache" --strict-optional)
if ! "${MYPY[@]}" python_types_check.py >check.out 2>&1; then
  cat check.out >&2
  echo "FAIL: python_types_check.py does not type-check" >&2
  exit 1
fi
"${MYPY[@]}" python_types_misuse.py >misuse.out 2>&1 || true
refused="$(sed -nE 's/^python_types_misuse\.py:([0-9]+): error:.*/\1/p' misuse.out | sort -un)"
expected="$(grep -n '# ERROR:' python_types_misuse.py | cut -d: -f1 | sort -un)"
if [ -z "$expected" ] || [ "$refused" != "$expected" ]; then
  echo "FAIL: mypy refused lines ($(echo $refused)), not the marked ones" \
    "($(echo $expected)):" >&2
  cat misuse.out >&2
  exit 1
fi
echo "python types: the check passes; $(echo "$expected" | wc -l) misuses refused"
