"""`python -m infra.scan_gate --findings FILE [--fail-on SEVERITY] [--ignore FILE]`.

The entry file `python -m` needs inside the package: it starts the command in
`infra/cli/scan_gate.py`, which lives with the others on the top floor of `infra/` (see
`infra/cli/__init__.py`); nothing imports this file, so the package never depends on it.
"""

from infra.cli.scan_gate import main

raise SystemExit(main())
