"""`imagePlatforms` wins over `imagePlatform` when a stack sets both, and says so in Pulumi's
own output (pulumi.log.warn), not on stderr."""

from __future__ import annotations

import json

import pulumi
import pytest

from tests.infra.conftest import engine_config
from tests.infra.pulumi_harness import program_run


def test_both_platform_keys_warn_through_pulumi_and_the_set_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: warned.append(message))
    config = engine_config("dev") | {
        "retail-registry:imagePlatform": "linux/arm64",
        "retail-registry:imagePlatforms": json.dumps(["linux/amd64", "linux/arm64"]),
    }
    with program_run("dev", config, preview=True) as run:
        builds = run.of_type("docker:index/image:Image")
    assert sorted(b.inputs["build"]["platform"] for b in builds) == ["linux/amd64", "linux/arm64"]
    assert (
        "retail-registry:imagePlatform (linux/arm64) is ignored: retail-registry:imagePlatforms "
        "(linux/amd64, linux/arm64) is set and wins; remove imagePlatform from the stack file"
    ) in warned
