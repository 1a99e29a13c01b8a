"""`python -m infra.scan_gate --findings FILE [--fail-on SEVERITY] [--ignore FILE]`."""

from infra.scan_gate.cli import main

raise SystemExit(main())
