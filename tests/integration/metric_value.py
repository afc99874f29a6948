#!/usr/bin/env python3
"""Prints the sum of the samples of one metric in a Prometheus text file.

Usage: metric_value.py FILE NAME [LABEL=VALUE ...]

The whole file is parsed with prometheus_client's text parser (so a file it
cannot read fails here), then the samples named NAME whose labels include
every LABEL=VALUE given are added up; 0 when none match.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    path, name = sys.argv[1], sys.argv[2]
    wanted = dict(arg.split("=", 1) for arg in sys.argv[3:])
    with open(path, encoding="utf-8") as f:
        families = list(text_string_to_metric_families(f.read()))
    total = 0.0
    for family in families:
        for sample in family.samples:
            if sample.name == name and all(
                sample.labels.get(k) == v for k, v in wanted.items()
            ):
                total += sample.value
    print(repr(total))


if __name__ == "__main__":
    main()
