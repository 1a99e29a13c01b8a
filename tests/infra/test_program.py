"""__main__.py, the program: its ten outputs, its errors and the scan gate in front of imageRef."""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from infra.lifecycle.shield import DEPLOYED_TAG_PREFIX, shield_rule
from tests.infra.conftest import ACCOUNT, REGION, STACKS, engine_config
from tests.infra.lifecycle.support import rule
from tests.infra.pulumi_harness import (
    FakeEcr,
    ProgramRun,
    is_secret,
    program_run,
    resolve,
    scan_response,
)

# The contract the EKS project reads (README, "Stack outputs"), in export order.
OUTPUTS = (
    "repositoryName",
    "repositoryUrl",
    "repositoryArn",
    "registryId",
    "region",
    "imageTag",
    "imageUri",
    "imageDigest",
    "imageRef",
    "imageScan",
    "imageSbomSha256",
    "imagePlatformDigests",
)


def exported(run: ProgramRun) -> dict[str, object]:
    return {name: resolve(pulumi.Output.from_input(run.exports[name])) for name in run.exports}


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_are_the_documented_contract(stack: str) -> None:
    with program_run(stack, engine_config(stack)) as run:
        values = exported(run)
        secrets = [
            name
            for name, value in run.exports.items()
            if is_secret(pulumi.Output.from_input(value))
        ]
    assert tuple(values) == OUTPUTS
    name = {"prod": "mlops/retail-api", "dev": "mlops-dev/retail-api"}[stack]
    url = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}"
    assert values["repositoryName"] == name
    assert values["repositoryUrl"] == url
    assert values["registryId"] == ACCOUNT
    assert values["region"] == REGION
    assert re.fullmatch(r"sha-[0-9a-f]{12}", str(values["imageTag"]))
    assert values["imageUri"] == f"{url}:{values['imageTag']}"
    # The digest the (fake) registry recorded for the push, not one the program made up.
    assert values["imageDigest"] == run.ecr.tags(name)[str(values["imageTag"])]
    assert values["imageRef"] == f"{url}@{values['imageDigest']}"
    scan = values["imageScan"]
    assert isinstance(scan, dict) and scan["status"] == "COMPLETE" and scan["passed"] is True
    assert secrets == []


def test_gate_failure_fails_the_update_and_exports_no_image_ref() -> None:
    ecr = FakeEcr(scan=scan_response("COMPLETE", counts={"CRITICAL": 1, "LOW": 2}))
    run = ProgramRun(ecr=ecr)
    with (
        pytest.raises(pulumi.RunError, match=r"sha256:[0-9a-f]{64}.*CRITICAL"),
        program_run("prod", engine_config("prod"), run=run),
    ):
        pass
    assert "imageRef" in run.exports, "declared, but it never resolves to a value"
    with pytest.raises(pulumi.RunError):
        resolve(pulumi.Output.from_input(run.exports["imageRef"]))


@pytest.mark.parametrize("status", ["FAILED", "UNSUPPORTED_IMAGE"])
def test_gate_fails_closed_on_a_status_it_cannot_judge(status: str) -> None:
    run = ProgramRun(ecr=FakeEcr(scan=scan_response(status)))
    with (
        pytest.raises(pulumi.RunError, match=status),
        program_run("dev", engine_config("dev"), run=run),
    ):
        pass


def test_report_only_threshold_lets_findings_through() -> None:
    ecr = FakeEcr(scan=scan_response("COMPLETE", counts={"CRITICAL": 3}))
    config = {**engine_config("dev"), "retail-registry:scanFailSeverity": "NONE"}
    with program_run("dev", config, run=ProgramRun(ecr=ecr)) as run:
        scan = exported(run)["imageScan"]
    assert isinstance(scan, dict) and scan["counts"]["CRITICAL"] == 3


def test_bad_config_stops_before_any_resource_with_one_message() -> None:
    config = {"aws:region": REGION, "retail-registry:pullPrincipals": json.dumps(["*"])}
    run = ProgramRun()
    with pytest.raises(pulumi.RunError) as caught, program_run("bad", config, run=run):
        pass
    assert str(caught.value) == (
        'retail-registry:pullPrincipals[0] = "*": '
        "wildcards are not allowed; name each principal's ARN"
    )
    assert run.resources == [], "nothing may be half-applied"
    assert run.calls == []


def test_lifecycle_warnings_are_logged_with_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: warnings.append(message))
    rules = [shield_rule(DEPLOYED_TAG_PREFIX, 1), rule(2, prefixes=["prod", "dev"], number=10)]
    config = {"aws:region": REGION, "retail-registry:lifecycleRules": json.dumps(rules)}
    with program_run("warned", config):
        pass
    assert warnings
    assert all(w.startswith("retail-registry:lifecycleRules: ") for w in warnings)
    assert any("tagPrefixList" in w for w in warnings)


def test_misspelt_key_is_an_error_not_a_silent_default() -> None:
    config = {"aws:region": REGION, "retail-registry:scanOnPsh": "false"}
    with (
        pytest.raises(pulumi.RunError, match=r"retail-registry:scanOnPsh.*unknown key"),
        program_run("typo", config),
    ):
        pass
