"""Prints a fenced code block of the README, for tests that run it.

    readme_block.py README "## Section heading" LANGUAGE [N]

prints the N-th (from 0) block fenced as ```LANGUAGE in the section whose
heading line starts with the given text; exits 1 when there is none.
"""

import sys


def block(text, heading, language, index):
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines)
                  if line.startswith(heading)), None)
    if start is None:
        return None
    found = -1
    i = start + 1
    while i < len(lines) and not lines[i].startswith("## "):
        if lines[i] == "```" + language:
            found += 1
            end = lines.index("```", i + 1)
            if found == index:
                return "\n".join(lines[i + 1:end]) + "\n"
            i = end
        i += 1
    return None


def main():
    with open(sys.argv[1]) as readme:
        text = readme.read()
    index = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    code = block(text, sys.argv[2], sys.argv[3], index)
    if code is None:
        print("no ```%s block %d under %r" % (sys.argv[3], index, sys.argv[2]),
              file=sys.stderr)
        return 1
    sys.stdout.write(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
