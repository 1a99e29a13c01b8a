"""Figures quoted in the docs come from a command run here, not from memory.

Each check runs the command the doc names and compares the figure the doc quotes with the one
the command prints today, so an edit by hand (or a change that moves the figure) fails here.
"""

from __future__ import annotations

import re

from infra.paths import PROJECT_ROOT
from testkit.cli import run_module

OPERATIONS = (PROJECT_ROOT / "docs" / "operations.md").read_text()
EXAMPLE = PROJECT_ROOT / "examples" / "lifecycle"


def test_the_storage_cost_in_operations_is_the_simulators() -> None:
    done = run_module(
        "infra.lifecycle",
        "simulate",
        "--stack",
        "prod",
        "--images",
        EXAMPLE / "describe-images.json",
        "--manifests",
        EXAMPLE / "manifests",
        "--now",
        "2026-11-30T00:00:00Z",
        "--format",
        "table",
    )
    assert done.returncode == 0, done.stderr
    retained = re.search(r"Retained: (\d+) images, ([\d.]+ GB)", done.stdout)
    cost = re.search(r"Estimated storage: \$([\d.]+) per month", done.stdout)
    assert retained and cost, done.stdout
    quoted = re.search(r"keeps (\d+) images, ([\d.]+ GB), and estimates \$([\d.]+) a", OPERATIONS)
    assert quoted is not None, "docs/operations.md no longer quotes the simulator's figures"
    assert quoted.groups() == (*retained.groups(), cost.group(1))
