"""Entry point for `python -m infra.lifecycle`."""

from infra.lifecycle.cli import main

raise SystemExit(main())
