"""The deployed window through the whole program, under mocks with an in-memory ECR.

Deploy A, then (the dev stack's sha-* keep count + 1) newer builds, then roll back to A: after
every `up` the stack's own lifecycle policy, simulated on what the registry then holds, expires
none of the digests in the window (the current imageRef and the keepDeployed before it). Lost
state changes nothing (the window is read back from ECR's tags), and preview lists the tags an
`up` would add and remove without touching the registry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pulumi
import pytest

from infra.config import load_args, read_stack_values
from infra.image_tag import BuildPlan, build_plan
from infra.lifecycle import parse_describe_images, simulate
from tests.infra.conftest import engine_config
from tests.infra.pulumi_harness import FakeEcr, ProgramRun, program_run, resolve

REPOSITORY = "mlops-dev/retail-api"
KEEP_SHA = 10  # Pulumi.dev.yaml: keep the 10 newest sha-* images
KEEP_DEPLOYED = 3  # the keepDeployed default


def _plan_with_tag(tag: str) -> Callable[..., BuildPlan]:
    def plan(*args: Any, **kwargs: Any) -> BuildPlan:
        return replace(build_plan(*args, **kwargs), tag=tag, content_tag=tag)

    return plan


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deploys an hour apart, as the tags record them."""
    ticks = iter(range(1000))
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    monkeypatch.setattr(
        "infra.deployed.tagging.utc_now", lambda: start + dt.timedelta(hours=next(ticks))
    )


def up(ecr: FakeEcr, monkeypatch: pytest.MonkeyPatch, tag: str, *, preview: bool = False) -> str:
    """One `pulumi up` (or preview) of dev whose content tag is `tag`; returns imageDigest."""
    monkeypatch.setattr("infra.registry.build_plan", _plan_with_tag(tag))
    run = ProgramRun(ecr=ecr)
    with program_run("dev", engine_config("dev"), run=run, preview=preview):
        digest = resolve(pulumi.Output.from_input(run.exports["imageDigest"]))
    return str(digest)


def expired_by_policy(ecr: FakeEcr) -> set[str]:
    """What dev's lifecycle policy would expire in the registry as it is, pushes a day apart."""
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    details = [
        {
            "imageDigest": digest,
            "imageTags": list(tags),
            "imagePushedAt": (start + dt.timedelta(days=day)).isoformat(),
            "imageSizeInBytes": 70_000_000,
        }
        for day, (digest, tags) in enumerate(ecr.images[REPOSITORY])
    ]
    images = parse_describe_images({"imageDetails": details})
    rules = load_args(read_stack_values("dev"), stack="dev").lifecycle.rules
    preview = simulate(rules, images, dt.datetime(2026, 12, 31, tzinfo=dt.UTC))
    return {result.image.digest for result in preview.results if result.action == "EXPIRE"}


def deployed_tags(ecr: FakeEcr) -> dict[str, list[str]]:
    return {
        digest: [t for t in tags if t.startswith("deployed-")]
        for digest, tags in ecr.images[REPOSITORY]
        if any(t.startswith("deployed-") for t in tags)
    }


def test_the_window_survives_a_burst_of_builds_and_a_rollback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecr = FakeEcr()
    history: list[str] = []
    for n in range(KEEP_SHA + 2):
        history.append(up(ecr, monkeypatch, f"sha-{n:012x}"))
        window = history[::-1][: KEEP_DEPLOYED + 1]
        assert set(deployed_tags(ecr)) == set(window)
        assert expired_by_policy(ecr).isdisjoint(window)
    # 12 builds under a keep-10 sha-* rule: the oldest two go, unless deployed.
    first = history[0]
    assert first in expired_by_policy(ecr)
    # Roll back to the first build: found by its tag, not built again, and shielded again.
    back = up(ecr, monkeypatch, "sha-000000000000")
    assert back == first
    assert set(deployed_tags(ecr)) == {first, *history[::-1][:KEEP_DEPLOYED]}
    assert first not in expired_by_policy(ecr)
    assert len(deployed_tags(ecr)[first]) == 1


def test_lost_state_rebuilds_the_same_protected_set(monkeypatch: pytest.MonkeyPatch) -> None:
    ecr = FakeEcr()
    digests = [up(ecr, monkeypatch, f"sha-{n:012x}") for n in range(5)]
    before = deployed_tags(ecr)
    # A new stack (nothing in state) over the same registry: the window is read from ECR.
    again = up(ecr, monkeypatch, "sha-000000000004")
    assert again == digests[-1]
    assert deployed_tags(ecr) == before


def test_preview_lists_the_changes_and_makes_none(monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *_, **__: logged.append(message))
    ecr = FakeEcr()
    digests = [up(ecr, monkeypatch, f"sha-{n:012x}") for n in range(KEEP_DEPLOYED + 1)]
    before = {digest: list(tags) for digest, tags in ecr.images[REPOSITORY]}
    logged.clear()
    up(ecr, monkeypatch, "sha-00000000000a", preview=True)
    window = [line for line in logged if line.startswith("deployed window: ")]
    oldest_tag = deployed_tags(ecr)[digests[0]][0]
    assert window == [
        "deployed window: tag <the image this update pushes> deployed-20261201t040000z-"
        "<its first 12 hex>",
        f"deployed window: untag {digests[0]} {oldest_tag}",
    ]
    assert {digest: list(tags) for digest, tags in ecr.images[REPOSITORY]} == before
