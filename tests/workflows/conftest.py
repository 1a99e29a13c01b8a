"""Fixtures for the workflow tests: the workflow files and their parsed YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.paths import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path.name}: top level must be a mapping"
    # YAML 1.1 reads the bare key `on` as boolean True.
    if True in document:
        document["on"] = document.pop(True)
    return document


@pytest.fixture(scope="session")
def workflows_dir() -> Path:
    return WORKFLOWS


@pytest.fixture(scope="session")
def workflow_paths() -> list[Path]:
    paths = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    assert paths, f"no workflows found in {WORKFLOWS}"
    return paths


@pytest.fixture(scope="session")
def workflows(workflow_paths: list[Path]) -> dict[str, dict[str, Any]]:
    return {path.name: _load(path) for path in workflow_paths}


@pytest.fixture(scope="session")
def ci(workflows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return workflows["ci.yml"]
