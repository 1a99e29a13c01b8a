"""Build once, promote the digest: dev's job builds and gates, prod's job only promotes."""

from __future__ import annotations

import re
from typing import Any

import yaml

from infra.paths import PROJECT_ROOT

PULUMI_ACTION = "pulumi/actions"
# Anything that would make an image in a job: a docker/buildx build, the build actions, the
# push scripts (which build), or the test suite (whose container tests build the image).
BUILD = re.compile(r"\bdocker\s+(?:buildx\s+)?build\b|\bmake\b|ecr_push\.(?:sh|ps1)|\bbuildx\b")
BUILD_ACTIONS = ("docker/build-push-action", "docker/setup-buildx-action", "docker/bake-action")


def _promote_from(stack: str) -> str | None:
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    value = document["config"].get("retail-registry:promoteFrom")
    return str(value) if value else None


def _pulumi_up_stacks(job: dict[str, Any]) -> list[str]:
    return [
        str(step["with"]["stack-name"])
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith(f"{PULUMI_ACTION}@")
        and step["with"]["command"] == "up"
    ]


def test_the_prod_job_depends_on_the_dev_job(ci: dict[str, Any]) -> None:
    jobs = ci["jobs"]
    assert _pulumi_up_stacks(jobs["up-dev"]) == ["dev"]
    assert _pulumi_up_stacks(jobs["up-prod"]) == ["prod"]
    assert jobs["up-prod"]["needs"] == "up-dev"
    assert jobs["up-dev"]["needs"] == "checks"


def test_the_prod_job_contains_no_build_step(ci: dict[str, Any]) -> None:
    for step in ci["jobs"]["up-prod"]["steps"]:
        assert not BUILD.search(str(step.get("run", ""))), step
        assert str(step.get("uses", "")).split("@")[0] not in BUILD_ACTIONS, step


def test_the_prod_stack_promotes_from_dev_and_only_dev_builds() -> None:
    # `pulumi up` builds only for a stack without promoteFrom (infra/registry.py).
    assert _promote_from("dev") is None
    source = _promote_from("prod")
    assert source is not None and source.endswith("/retail-registry/dev")


def test_exactly_one_deploy_job_runs_a_building_stack(ci: dict[str, Any]) -> None:
    building = [
        name
        for name, job in ci["jobs"].items()
        for stack in _pulumi_up_stacks(job)
        if _promote_from(stack) is None
    ]
    assert building == ["up-dev"]


def test_the_prod_job_checks_it_exports_the_digest_dev_gated(ci: dict[str, Any]) -> None:
    dev, prod = ci["jobs"]["up-dev"], ci["jobs"]["up-prod"]
    assert dev["outputs"] == {"image-digest": "${{ steps.up.outputs.imageDigest }}"}
    (check,) = [s for s in prod["steps"] if "DEV_DIGEST" in s.get("env", {})]
    assert check["env"] == {
        "DEV_DIGEST": "${{ needs.up-dev.outputs.image-digest }}",
        "PROD_DIGEST": "${{ steps.up.outputs.imageDigest }}",
    }
    assert 'test "$PROD_DIGEST" = "$DEV_DIGEST"' in check["run"]
    steps = [s.get("id") for s in prod["steps"]]
    assert steps.index("up") < prod["steps"].index(check)
