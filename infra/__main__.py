"""`python -m infra check …` and `python -m infra init …`: the stack commands (infra/cli/).

`python -m infra COMMAND --help` for each command's flags; an unknown or missing command is a
usage error (exit 2, one line).
"""

from __future__ import annotations

import sys

from infra.cli import check, init

COMMANDS = {"check": check.main, "init": init.main}
USAGE = f"usage: python -m infra {{{','.join(COMMANDS)}}} [--help]\n"

if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE + "  check  check a stack offline\n  init   write a stack file\n")
        raise SystemExit(0)
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(USAGE)
        raise SystemExit(2)
    raise SystemExit(COMMANDS[sys.argv[1]](sys.argv[2:]))
