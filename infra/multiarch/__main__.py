"""`python -m infra.multiarch`: starts the command in `infra/multiarch/cli.py`."""

from infra.multiarch.cli import main

raise SystemExit(main())
