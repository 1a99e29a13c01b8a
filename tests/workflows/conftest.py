"""Fixtures for the workflow tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows.workflow_helpers import WORKFLOWS, load, workflow_files


@pytest.fixture(scope="session")
def workflows() -> dict[str, dict[str, Any]]:
    files = workflow_files()
    assert files, f"no workflows found in {WORKFLOWS}"
    return {path.name: load(path) for path in files}


@pytest.fixture(scope="session")
def ci(workflows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return workflows["ci.yml"]
