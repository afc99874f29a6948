"""Checks webhook bodies against docs/webhooks.schema.json.

usage: check_webhook_schema.py SCHEMA BODY_FILE...
Prints "valid N" and exits 0 when every body is valid; otherwise prints one
line per error and exits 1. Uses the jsonschema package (Debian's
python3-jsonschema), an implementation nobody here wrote.
"""
import json
import sys

import jsonschema


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            body = json.load(f)
        for error in validator.iter_errors(body):
            errors += 1
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"invalid {path} at /{where}: {error.message}")
    if errors == 0:
        print(f"valid {len(argv) - 2}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
