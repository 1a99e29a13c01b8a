"""Shared helpers for the infra tests: stack files as the engine sees them, and moto's ECR.

`tests/infra/lifecycle` uses the `ecr` fixture too (fixtures here reach every test below).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from infra.paths import PROJECT_ROOT

REGION = "ap-southeast-1"
ACCOUNT = "842676018087"
STACKS = ("prod", "dev")


def stack_document(stack: str) -> dict[str, Any]:
    """`Pulumi.<stack>.yaml` as committed, read with plain YAML (not the code under test)."""
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert isinstance(document, dict)
    return document


def engine_config(stack: str) -> dict[str, str]:
    """The stack file as the engine hands it to a program: every value a string."""
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in stack_document(stack)["config"].items()
    }


def stack_values(stack: str) -> dict[str, Any]:
    """The project-namespace values written in the stack file (no defaults filled in)."""
    return {
        key.split(":", 1)[1]: value
        for key, value in stack_document(stack)["config"].items()
        if key.startswith("retail-registry:")
    }


@pytest.fixture
def ecr(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A boto3 ECR client on moto's in-process AWS, with fake credentials only."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("ecr", region_name=REGION)
