"""`python -m infra.lifecycle validate|simulate`.

The entry file `python -m` needs inside the package: it starts the command in
`infra/cli/lifecycle.py`, on the top floor of `infra/` with the other commands (the command
reads stack files through `infra.config`, which itself builds on this package); nothing imports
this file.
"""

from infra.cli.lifecycle import main

raise SystemExit(main())
