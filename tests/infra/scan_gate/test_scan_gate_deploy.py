"""gate_image under `pulumi.runtime.set_mocks`: the gated digest resolves only when the gate passes.

A stack-like export (`imageRef` = url@digest) is built from the gated digest, as the component
does: on a failing verdict, awaiting it raises pulumi.RunError (the update fails and the stack
keeps its previous outputs); during preview nothing waits and nothing fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from infra.scan_gate import Clock, ScanPolicy, Severity
from infra.scan_gate.aws import AwsCredentials, EcrScanClient, EcrTarget
from infra.scan_gate.deploy import credentials_from_stack, gate_image

from .conftest import DIGEST, TODAY, FakeClock, ScriptedEcr, basic, response

ARN = "arn:aws:ecr:eu-central-1:842676018087:repository/mlops/retail-api"
URL = "842676018087.dkr.ecr.eu-central-1.amazonaws.com/mlops/retail-api"
CLEAN = response(findings=[basic("CVE-2024-1", "HIGH")], counts={"HIGH": 1})
DIRTY = response(findings=[basic("CVE-2024-9", "CRITICAL")], counts={"CRITICAL": 1})


class NoopMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def mocks(preview: bool, config: dict[str, str] | None = None) -> None:
    pulumi.runtime.set_all_config(config or {})
    pulumi.runtime.set_mocks(NoopMocks(), project="retail-registry", stack="dev", preview=preview)


@pytest.fixture(autouse=True)
def _reset_config() -> Iterator[None]:
    yield
    pulumi.runtime.set_all_config({})


def resolve(output: pulumi.Output[Any]) -> Any:
    return _sync_await(output.future())


class Recorder:
    """A client factory handing out one scripted client and recording the target."""

    def __init__(self, client: ScriptedEcr) -> None:
        self.client = client
        self.targets: list[EcrTarget] = []

    def __call__(self, target: EcrTarget) -> EcrScanClient:
        self.targets.append(target)
        return self.client


def gate(client: ScriptedEcr, policy: ScanPolicy, clock: FakeClock | None = None) -> Any:
    fake = clock or FakeClock()
    return gate_image(
        ARN,
        pulumi.Output.from_input(DIGEST),
        policy,
        client_factory=Recorder(client),
        clock=Clock(fake.monotonic, fake.sleep, 10),
        today=lambda: TODAY,
    )


def test_pass_resolves_digest_and_image_scan() -> None:
    mocks(preview=False)
    ecr = ScriptedEcr([response("IN_PROGRESS"), CLEAN])
    factory = Recorder(ecr)
    gated = gate_image(
        ARN,
        DIGEST,
        ScanPolicy(),
        client_factory=factory,
        today=lambda: TODAY,
        clock=Clock(FakeClock().monotonic, FakeClock().sleep, 1),
    )
    image_ref = pulumi.Output.concat(URL, "@", gated.digest)
    assert resolve(image_ref) == f"{URL}@{DIGEST}"
    assert resolve(gated.image_scan)["counts"] == {"HIGH": 1}
    assert resolve(gated.image_scan)["passed"] is True
    # Region and account come from the repository ARN; registryId pins the account.
    assert factory.targets == [EcrTarget("aws", "eu-central-1", "842676018087", "mlops/retail-api")]
    assert ecr.requests[0] == {
        "registryId": "842676018087",
        "repositoryName": "mlops/retail-api",
        "imageId": {"imageDigest": DIGEST},
        "maxResults": 1000,
    }


def test_failing_verdict_fails_the_update() -> None:
    mocks(preview=False)
    gated = gate(ScriptedEcr([DIRTY]), ScanPolicy(Severity.CRITICAL))
    image_ref = pulumi.Output.concat(URL, "@", gated.digest)
    with pytest.raises(pulumi.RunError) as caught:
        resolve(image_ref)
    assert str(caught.value) == (
        f"scan gate: image {DIGEST} (COMPLETE) has findings at or above CRITICAL: "
        "1 failing: CVE-2024-9"
    )


def test_timeout_fails_the_update_without_real_waiting() -> None:
    mocks(preview=False)
    clock = FakeClock()
    gated = gate(ScriptedEcr([response("PENDING")]), ScanPolicy(timeout_seconds=30), clock)
    with pytest.raises(pulumi.RunError, match=f"image {DIGEST}: still PENDING after 30 s"):
        resolve(gated.digest)
    assert sum(clock.sleeps) == 30


def test_client_errors_fail_closed_in_one_line() -> None:
    mocks(preview=False)

    def no_credentials(target: EcrTarget) -> EcrScanClient:
        raise RuntimeError("Unable to locate credentials")

    gated = gate_image(ARN, DIGEST, ScanPolicy(), client_factory=no_credentials)
    with pytest.raises(pulumi.RunError) as caught:
        resolve(gated.digest)
    assert str(caught.value) == (
        f"scan gate: image {DIGEST}: no ECR client for 842676018087/eu-central-1: "
        "RuntimeError: Unable to locate credentials"
    )


def test_preview_reports_without_waiting_or_failing() -> None:
    mocks(preview=True)
    clock = FakeClock()
    gated = gate(ScriptedEcr([DIRTY]), ScanPolicy(), clock)
    assert resolve(gated.digest) == DIGEST
    assert resolve(gated.image_scan)["failingIds"] == ["CVE-2024-9"]
    pending = gate(ScriptedEcr([response("IN_PROGRESS")]), ScanPolicy(), clock)
    assert resolve(pending.digest) == DIGEST
    assert resolve(pending.image_scan) == {
        "digest": DIGEST,
        "status": "IN_PROGRESS",
        "failSeverity": "CRITICAL",
        "passed": False,
        "counts": {},
        "failingIds": [],
        "unlistedFailing": 0,
        "ignoredIds": [],
        "expiredIgnoreIds": [],
    }
    assert clock.sleeps == []


def test_report_only_passes_critical_findings_and_failed_scans() -> None:
    """scanFailSeverity NONE: `up` reports (and warns) but never fails the update."""
    mocks(preview=False)
    gated = gate(ScriptedEcr([DIRTY]), ScanPolicy(fail_severity=None))
    assert resolve(gated.digest) == DIGEST
    assert resolve(gated.image_scan)["failSeverity"] == "NONE"
    assert resolve(gated.image_scan)["failingIds"] == []
    failed = gate(ScriptedEcr([response("FAILED")]), ScanPolicy(fail_severity=None))
    assert resolve(failed.digest) == DIGEST
    assert resolve(failed.image_scan)["status"] == "FAILED"


def test_unfinished_scan_fails_the_update_when_gating() -> None:
    mocks(preview=False)
    gated = gate(ScriptedEcr([response("SCAN_ELIGIBILITY_EXPIRED")]), ScanPolicy(Severity.LOW))
    with pytest.raises(pulumi.RunError, match="scan status SCAN_ELIGIBILITY_EXPIRED"):
        resolve(pulumi.Output.concat(URL, "@", gated.digest))


def test_credentials_follow_the_aws_namespace() -> None:
    mocks(False, {"aws:profile": "ci-deploy", "aws:allowedAccountIds": '["842676018087"]'})
    assert credentials_from_stack() == AwsCredentials("ci-deploy", ("842676018087",))
    mocks(False)
    assert credentials_from_stack() == AwsCredentials(None, ())
