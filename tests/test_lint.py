"""Ruff and strict mypy gate every merge: CI runs the test suite, so the suite runs them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.settings import PROJECT_ROOT

CHECKS = {
    "ruff check": [sys.executable, "-m", "ruff", "check", "."],
    "ruff format": [sys.executable, "-m", "ruff", "format", "--check", "."],
    "mypy --strict": [sys.executable, "-m", "mypy", "."],
    "mypy --strict (example)": [
        sys.executable,
        "-m",
        "mypy",
        "examples/eks-consumer/__main__.py",
        "examples/eks-consumer/manifest.py",
    ],
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", CHECKS)
def test_code_is_clean(name: str) -> None:
    result = subprocess.run(
        CHECKS[name], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{name} found problems:\n{result.stdout}\n{result.stderr}"
