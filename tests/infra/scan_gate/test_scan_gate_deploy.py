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
from botocore.exceptions import NoCredentialsError
from pulumi.runtime.sync_await import _sync_await

from infra.aws_config import AwsConfig
from infra.aws_session import AwsSession
from infra.scan_gate import Clock, ScanPolicy, Severity
from infra.scan_gate.deploy import gate_image
from tests.infra.pulumi_harness import serve_boto3

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


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Any:
    """serve(client) -> an AwsSession whose every boto3 client is `client`."""

    def make(client: Any) -> AwsSession:
        serve_boto3(monkeypatch, client)
        return AwsSession(AwsConfig())

    return make


def gate(
    session: AwsSession, policy: ScanPolicy, clock: FakeClock | None = None, fresh: bool = True
) -> Any:
    fake = clock or FakeClock()
    return gate_image(
        ARN,
        pulumi.Output.from_input(DIGEST),
        policy,
        session=session,
        platforms=("linux/amd64",),
        fresh_push=fresh,
        clock=Clock(fake.monotonic, fake.sleep, 10),
        today=lambda: TODAY,
    )


def test_pass_resolves_digest_and_image_scan(serve: Any) -> None:
    mocks(preview=False)
    ecr = ScriptedEcr([response("IN_PROGRESS"), CLEAN])
    gated = gate(serve(ecr), ScanPolicy())
    image_ref = pulumi.Output.concat(URL, "@", gated.digest)
    assert resolve(image_ref) == f"{URL}@{DIGEST}"
    assert resolve(gated.image_scan)["counts"] == {"HIGH": 1}
    assert resolve(gated.image_scan)["passed"] is True
    # Region and account come from the repository ARN; registryId pins the account.
    assert ecr.requests[0] == {
        "registryId": "842676018087",
        "repositoryName": "mlops/retail-api",
        "imageId": {"imageDigest": DIGEST},
        "maxResults": 1000,
    }


def test_failing_verdict_fails_the_update(serve: Any) -> None:
    mocks(preview=False)
    gated = gate(serve(ScriptedEcr([DIRTY])), ScanPolicy(Severity.CRITICAL))
    image_ref = pulumi.Output.concat(URL, "@", gated.digest)
    with pytest.raises(pulumi.RunError) as caught:
        resolve(image_ref)
    assert str(caught.value) == (
        f"scan gate: image {DIGEST} (COMPLETE) has findings at or above CRITICAL: "
        "1 failing: CVE-2024-9"
    )


def test_timeout_fails_the_update_without_real_waiting(serve: Any) -> None:
    mocks(preview=False)
    clock = FakeClock()
    gated = gate(serve(ScriptedEcr([response("PENDING")])), ScanPolicy(timeout_seconds=30), clock)
    with pytest.raises(pulumi.RunError, match=f"image {DIGEST}: still PENDING after 30 s"):
        resolve(gated.digest)
    assert sum(clock.sleeps) == 30


def test_missing_credentials_fail_closed_in_one_line(serve: Any) -> None:
    mocks(preview=False)

    class NoKeys:
        def batch_get_image(self, **kwargs: Any) -> Any:
            raise NoCredentialsError()

    gated = gate(serve(NoKeys()), ScanPolicy())
    with pytest.raises(pulumi.RunError) as caught:
        resolve(gated.digest)
    assert str(caught.value) == (
        f"scan gate: image {DIGEST}: no AWS credentials for 842676018087/eu-central-1: "
        "BatchGetImage failed: NoCredentialsError: Unable to locate credentials (set "
        "aws:profile, aws:accessKey/secretKey, aws:assumeRoles or the environment's credentials)"
    )


def test_preview_reports_without_waiting_or_failing(serve: Any) -> None:
    mocks(preview=True)
    clock = FakeClock()
    gated = gate(serve(ScriptedEcr([DIRTY])), ScanPolicy(), clock)
    assert resolve(gated.digest) == DIGEST
    assert resolve(gated.image_scan)["failingIds"] == ["CVE-2024-9"]
    pending = gate(serve(ScriptedEcr([response("IN_PROGRESS")])), ScanPolicy(), clock)
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


def test_report_only_passes_critical_findings_and_failed_scans(serve: Any) -> None:
    """scanFailSeverity NONE: `up` reports (and warns) but never fails the update."""
    mocks(preview=False)
    gated = gate(serve(ScriptedEcr([DIRTY])), ScanPolicy(fail_severity=None))
    assert resolve(gated.digest) == DIGEST
    assert resolve(gated.image_scan)["failSeverity"] == "NONE"
    assert resolve(gated.image_scan)["failingIds"] == []
    failed = gate(serve(ScriptedEcr([response("FAILED")])), ScanPolicy(fail_severity=None))
    assert resolve(failed.digest) == DIGEST
    assert resolve(failed.image_scan)["status"] == "FAILED"


def test_expired_eligibility_fails_the_update_at_once(serve: Any) -> None:
    mocks(preview=False)
    clock = FakeClock()
    expired = ScriptedEcr([response("SCAN_ELIGIBILITY_EXPIRED")])
    gated = gate(serve(expired), ScanPolicy(Severity.LOW), clock)
    with pytest.raises(pulumi.RunError, match="SCAN_ELIGIBILITY_EXPIRED: Amazon Inspector"):
        resolve(pulumi.Output.concat(URL, "@", gated.digest))
    assert clock.sleeps == []
