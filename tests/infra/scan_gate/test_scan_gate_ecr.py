"""The gate against moto's ECR (in-process), through a real AwsSession: page_fetcher, check.

What moto models: DescribeImageScanFindings raises ScanNotFoundException until StartImageScan,
then answers one static COMPLETE result (CVE-9999-9999, HIGH, package moto_fake) or the result
queued through its API (`scan_finding_results`); StartImageScan once a day per image. What it
does not model: scan on push (it never
starts a scan by itself), IN_PROGRESS/PENDING and status transitions (the first answer for an
image is sticky), pagination (`maxResults`/`nextToken` are ignored), enhanced scanning
(Inspector) unless a queued result says so, and cross-account `registryId` permissions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.ecr.models import ecr_backends

from infra.aws_config import AwsConfig
from infra.aws_session import AwsSession
from infra.aws_types import AwsCallError, EcrTarget
from infra.scan_gate import Clock, ScanGateError, ScanPolicy, Severity
from infra.scan_gate.ecr import page_fetcher, start_rescan
from infra.scan_gate.gate import GateRun, check

from .conftest import TODAY, FakeClock, enhanced, response

REPOSITORY = "mlops/retail-api"
MANIFEST = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {
        "mediaType": "application/vnd.docker.container.image.v1+json",
        "size": 7,
        "digest": "sha256:" + "c" * 64,
    },
    "layers": [],
}


@pytest.fixture
def pushed(ecr: Any) -> tuple[Any, str, str]:
    """(client, repository ARN, digest) of one image pushed into moto."""
    arn = ecr.create_repository(
        repositoryName=REPOSITORY, imageScanningConfiguration={"scanOnPush": True}
    )["repository"]["repositoryArn"]
    image = ecr.put_image(
        repositoryName=REPOSITORY, imageManifest=json.dumps(MANIFEST), imageTag="sha-0123456789ab"
    )["image"]
    digest = image["imageId"]["imageDigest"]
    assert digest.startswith("sha256:")
    return ecr, arn, digest


def test_target_from_arn(pushed: tuple[Any, str, str]) -> None:
    _, arn, _ = pushed
    target = EcrTarget.from_arn(arn)
    assert (target.region, target.repository) == (pushed[0].meta.region_name, REPOSITORY)
    assert target.account == arn.split(":")[4]
    with pytest.raises(ValueError, match="repository ARN: 'mlops/retail-api' is not arn:aws:ecr"):
        EcrTarget.from_arn("mlops/retail-api")


def gate_run(ecr: Any, arn: str, policy: ScanPolicy, *, fresh: bool = True) -> GateRun:
    fake = FakeClock()
    session = AwsSession(AwsConfig(region=ecr.meta.region_name))
    return GateRun(
        session,
        EcrTarget.from_arn(arn),
        policy,
        ("linux/amd64",),
        fresh,
        TODAY,
        Clock(fake.monotonic, fake.sleep, 5),
    )


def test_no_scan_yet_after_a_push_is_waited_on_then_times_out(
    pushed: tuple[Any, str, str],
) -> None:
    """Right after a push there is no scan: ScanNotFoundException, which the gate waits on."""
    ecr, arn, digest = pushed
    target = EcrTarget.from_arn(arn)
    page = page_fetcher(AwsSession(AwsConfig()), target, digest)(None)
    assert page["imageScanStatus"]["status"] == "SCAN_NOT_FOUND"
    assert "ScanNotFoundException" in page["imageScanStatus"]["description"]
    with pytest.raises(ScanGateError, match=f"image {digest}: still SCAN_NOT_FOUND .* after 20 s"):
        check(gate_run(ecr, arn, ScanPolicy(timeout_seconds=20)), digest)


def test_a_held_image_never_scanned_is_scanned_under_basic_scanning(
    pushed: tuple[Any, str, str],
) -> None:
    ecr, arn, digest = pushed
    output = check(gate_run(ecr, arn, ScanPolicy(), fresh=False), digest)
    assert output["counts"] == {"HIGH": 1}
    # moto, like ECR, refuses a second scan of the image the same day.
    assert start_rescan(AwsSession(AwsConfig()), EcrTarget.from_arn(arn), digest) is False


def test_moto_default_result_judged(pushed: tuple[Any, str, str]) -> None:
    """moto's static result has one HIGH finding: CRITICAL passes, HIGH fails."""
    ecr, arn, digest = pushed
    ecr.start_image_scan(repositoryName=REPOSITORY, imageId={"imageDigest": digest})
    output = check(gate_run(ecr, arn, ScanPolicy()), digest)
    assert output["counts"] == {"HIGH": 1}
    with pytest.raises(ScanGateError, match="1 failing: CVE-9999-9999"):
        check(gate_run(ecr, arn, ScanPolicy(Severity.HIGH)), digest)


@pytest.mark.parametrize(
    ("queued", "outcome"),
    [
        (
            response("ACTIVE", enhanced_findings=[enhanced("CVE-2025-1", "CRITICAL")]),
            "1 failing: CVE-2025-1",
        ),
        (response("FAILED", description="UnsupportedImageError"), "scan status FAILED"),
        (response("UNSUPPORTED_IMAGE"), "scan status UNSUPPORTED_IMAGE"),
    ],
)
def test_queued_results(pushed: tuple[Any, str, str], queued: dict[str, Any], outcome: str) -> None:
    ecr, arn, digest = pushed
    ecr.start_image_scan(repositoryName=REPOSITORY, imageId={"imageDigest": digest})
    account = arn.split(":")[4]
    result = {**queued, "repositoryName": REPOSITORY, "imageId": {"imageDigest": digest}}
    ecr_backends[account][ecr.meta.region_name].scan_finding_results.append(result)
    with pytest.raises(ScanGateError, match=outcome):
        check(gate_run(ecr, arn, ScanPolicy()), digest)


def test_unknown_image_fails_closed(pushed: tuple[Any, str, str]) -> None:
    ecr, arn, _ = pushed
    missing = "sha256:" + "0" * 64
    with pytest.raises(ScanGateError) as caught:
        check(gate_run(ecr, arn, ScanPolicy()), missing)
    assert str(caught.value).startswith(
        f"scan gate: image {missing}: BatchGetImage failed: ImageNotFound"
    )


def test_the_session_checks_the_caller_account(pushed: tuple[Any, str, str]) -> None:
    """moto's STS answers with its default account; aws:allowedAccountIds must list it."""
    ecr, arn, digest = pushed
    target = EcrTarget.from_arn(arn)
    session = AwsSession(AwsConfig(allowed_account_ids=(target.account,)))
    client = session.client("ecr", target.region)
    assert page_fetcher(session, target, digest)(None)["imageScanStatus"]["status"] == (
        "SCAN_NOT_FOUND"
    )
    assert client.meta.region_name == ecr.meta.region_name
    assert client.meta.config.retries["mode"] == "standard"
    other = AwsSession(AwsConfig(allowed_account_ids=("111122223333",)))
    with pytest.raises(AwsCallError) as caught:
        other.client("ecr", target.region)
    assert str(caught.value) == (
        f"GetCallerIdentity failed: AccountNotAllowed: credentials belong to account "
        f"{target.account}, which aws:allowedAccountIds (111122223333) does not list"
    )
