"""Ruff and strict mypy gate every merge: CI runs the test suite, so the suite runs them.

These are the only lint commands in the project: `make lint` runs this file, and CI (which runs
`make test`) reaches it through the suite, so lint runs once per CI run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from infra.paths import PROJECT_ROOT

# The example is its own Pulumi program (its own __main__.py), so mypy checks it on its own.
EXAMPLE = PROJECT_ROOT / "examples" / "eks-consumer"
CHECKS = {
    "ruff check": [sys.executable, "-m", "ruff", "check", "."],
    "ruff format": [sys.executable, "-m", "ruff", "format", "--check", "."],
    "mypy --strict": [sys.executable, "-m", "mypy", "."],
    "mypy --strict (example)": [
        sys.executable,
        "-m",
        "mypy",
        *sorted(str(path.relative_to(PROJECT_ROOT)) for path in EXAMPLE.glob("*.py")),
    ],
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", CHECKS)
def test_code_is_clean(name: str) -> None:
    result = subprocess.run(
        CHECKS[name], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{name} found problems:\n{result.stdout}\n{result.stderr}"


def test_make_lint_runs_these_checks_and_nothing_else() -> None:
    make = shutil.which("make")
    assert make, "make is a prerequisite (README, Set up)"
    # -n prints the recipe without running it; `env` is up to date or prints only its sync.
    result = subprocess.run(
        [make, "-n", "lint"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    commands = [line for line in result.stdout.splitlines() if "pytest" in line]
    assert len(commands) == 1, result.stdout
    assert "tests/test_lint.py" in commands[0]
    for tool in ("ruff", "mypy"):
        assert tool not in result.stdout, f"make lint runs {tool} itself: {result.stdout}"
