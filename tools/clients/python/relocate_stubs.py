"""Moves generated stubs into the package's own namespace: their imports of
each other by proto path ("from proto.unified.v1 import ...", "from
google.rpc import ...") become imports from unified_directory._gen, so that
the package puts no top-level `proto` or `google.rpc` on sys.path (and
works beside proto-plus, whose module is `proto`). google.protobuf's own
modules are left as they are. In the type stubs (.pyi) an empty
`__slots__` gets the annotation type checkers ask for.

    relocate_stubs.py FILE...
"""

import re
import sys

_PREFIX = "unified_directory._gen."
_EMPTY_SLOTS = re.compile(r"^(\s*)__slots__ = \[\]$", re.M)
_IMPORT = re.compile(r"^(\s*)(from|import) (proto\.unified\.v1|google\.rpc)\b",
                     re.M)


def relocate(text):
    """`text` (a generated module) with its stub imports moved."""
    text = _EMPTY_SLOTS.sub(r"\1__slots__: list[str] = []", text)
    return _IMPORT.sub(lambda m: "%s%s %s%s" % (m.group(1), m.group(2),
                                                _PREFIX, m.group(3)), text)


def main(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(relocate(text))


if __name__ == "__main__":
    main(sys.argv[1:])
