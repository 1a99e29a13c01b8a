"""`python -m infra check …` and `python -m infra init …`: the stack commands (infra/cli/).

Exit 2 with one line for an unknown or missing command; `python -m infra COMMAND --help` for
each command's flags.
"""

from __future__ import annotations

import sys

from infra.cli import check, init

COMMANDS = {"check": check.main, "init": init.main}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(f"usage: python -m infra {{{','.join(COMMANDS)}}} [--help]\n")
        raise SystemExit(2)
    raise SystemExit(COMMANDS[sys.argv[1]](sys.argv[2:]))
