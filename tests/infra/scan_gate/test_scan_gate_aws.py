"""The deploy path against moto's ECR (in-process): page_fetcher, check_image, the client factory.

What moto models: DescribeImageScanFindings raises ScanNotFoundException until StartImageScan,
then answers one static COMPLETE result (CVE-9999-9999, HIGH, package moto_fake) or the result
queued through its API (`scan_finding_results`). What it does not model: scan on push (it never
starts a scan by itself), IN_PROGRESS/PENDING and status transitions (the first answer for an
image is sticky), pagination (`maxResults`/`nextToken` are ignored), enhanced scanning
(Inspector) unless a queued result says so, and cross-account `registryId` permissions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.ecr.models import ecr_backends

from infra.scan_gate import Clock, ScanGateError, ScanPolicy, Severity
from infra.scan_gate.aws import AwsCredentials, EcrTarget, boto3_client_factory, page_fetcher
from infra.scan_gate.deploy import check_image

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


def test_no_scan_yet_reads_as_pending_then_times_out(pushed: tuple[Any, str, str]) -> None:
    """Right after a push there is no scan: ScanNotFoundException, which the gate waits on."""
    ecr, arn, digest = pushed
    target = EcrTarget.from_arn(arn)
    page = page_fetcher(ecr, target, digest)(None)
    assert page["imageScanStatus"]["status"] == "PENDING"
    assert page["imageScanStatus"]["description"].startswith("ScanNotFoundException: ")
    clock = FakeClock()
    with pytest.raises(ScanGateError, match=f"image {digest}: still PENDING .* after 20 s"):
        check_image(
            arn, digest, ScanPolicy(timeout_seconds=20), lambda t: ecr, _clock(clock), TODAY
        )


def test_moto_default_result_judged(pushed: tuple[Any, str, str]) -> None:
    """moto's static result has one HIGH finding: CRITICAL passes, HIGH fails."""
    ecr, arn, digest = pushed
    ecr.start_image_scan(repositoryName=REPOSITORY, imageId={"imageDigest": digest})
    summary = check_image(arn, digest, ScanPolicy(), lambda t: ecr, None, TODAY)
    assert summary.to_output()["counts"] == {"HIGH": 1}
    with pytest.raises(ScanGateError, match="1 failing: CVE-9999-9999"):
        check_image(arn, digest, ScanPolicy(Severity.HIGH), lambda t: ecr, None, TODAY)


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
        check_image(arn, digest, ScanPolicy(), lambda t: ecr, _clock(FakeClock()), TODAY)


def test_unknown_image_fails_closed(pushed: tuple[Any, str, str]) -> None:
    ecr, arn, _ = pushed
    missing = "sha256:" + "0" * 64
    with pytest.raises(ScanGateError) as caught:
        check_image(arn, missing, ScanPolicy(), lambda t: ecr, None, TODAY)
    assert str(caught.value).startswith(
        f"scan gate: image {missing}: DescribeImageScanFindings in "
        f"{arn.split(':')[4]}/{ecr.meta.region_name} failed: ImageNotFoundException: "
    )


def test_factory_checks_the_caller_account(pushed: tuple[Any, str, str]) -> None:
    """moto's STS answers with its default account; aws:allowedAccountIds must list it."""
    ecr, arn, digest = pushed
    target = EcrTarget.from_arn(arn)
    client = boto3_client_factory(AwsCredentials(allowed_account_ids=(target.account,)))(target)
    # A real boto3 ECR client, in the ARN's region, that reaches the pushed image.
    assert page_fetcher(client, target, digest)(None)["imageScanStatus"]["status"] == "PENDING"
    assert client.meta.region_name == ecr.meta.region_name  # type: ignore[attr-defined]
    assert client.meta.config.retries["mode"] == "standard"  # type: ignore[attr-defined]
    other = AwsCredentials(allowed_account_ids=("111122223333",))
    with pytest.raises(ScanGateError) as caught:
        boto3_client_factory(other)(target)
    assert str(caught.value) == (
        f"scan gate: credentials belong to account {target.account}, which "
        "aws:allowedAccountIds (111122223333) does not list"
    )


def _clock(fake: FakeClock) -> Clock:
    return Clock(fake.monotonic, fake.sleep, 5)
