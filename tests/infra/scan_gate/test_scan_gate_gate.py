"""The gate against ECR as AWS really behaves, replayed: old scans, scans that cannot come,
late enhanced findings, indexes.

Behaviours encoded (ECR and Inspector docs, public reports; moto models none of them):
- basic scanning scans once, on push; StartImageScan scans again, once per image per 24 hours
  (LimitExceededException past that);
- enhanced scanning answers SCAN_ELIGIBILITY_EXPIRED past Inspector's re-scan duration, and
  has answered COMPLETE/ACTIVE with no findings and no imageScanCompletedAt before its findings
  are in (aws/aws-sdk#289); Inspector's ListCoverage then shows whether the scan ran;
- after a switch between basic and enhanced, earlier scans are gone (ScanNotFoundException);
- ECR does not scan an index: its platform images are scanned.
"""

from __future__ import annotations

import json

import pytest

from infra.aws_config import AwsConfig
from infra.aws_session import AwsSession
from infra.aws_types import EcrTarget
from infra.scan_gate import Clock, ScanGateError, ScanPolicy
from infra.scan_gate.gate import GateRun, check, look
from infra.scan_gate.model import AcceptedDigest
from tests.infra.pulumi_harness import serve_boto3

from .conftest import (
    DIGEST,
    NOW,
    TODAY,
    FakeClock,
    ScriptedEcr,
    aws_error,
    basic,
    enhanced,
    response,
)

TARGET = EcrTarget("aws", "ap-southeast-1", "842676018087", "mlops/retail-api")
MONTH_OLD = "2026-10-31T08:00:00Z"
CLEAN_OLD = response(findings=[], counts={}, completed_at=MONTH_OLD)
CRITICAL_NEW = response(
    findings=[basic("CVE-2026-31337", "CRITICAL")],
    counts={"CRITICAL": 1},
    completed_at="2026-11-30T08:59:00Z",
)
NOT_FOUND = aws_error(
    "ScanNotFoundException", "Image scan does not exist", "DescribeImageScanFindings"
)
AMD64 = "sha256:" + "a1" * 32
ARM64 = "sha256:" + "b2" * 32
ATTESTATION = "sha256:" + "c3" * 32


def run_on(
    monkeypatch: pytest.MonkeyPatch,
    ecr: ScriptedEcr,
    *,
    fresh: bool = False,
    policy: ScanPolicy | None = None,
    platforms: tuple[str, ...] = ("linux/amd64",),
    clock: FakeClock | None = None,
) -> GateRun:
    serve_boto3(monkeypatch, ecr)
    fake = clock or FakeClock()
    return GateRun(
        AwsSession(AwsConfig()),
        TARGET,
        policy or ScanPolicy(timeout_seconds=600),
        platforms,
        fresh,
        TODAY,
        Clock(fake.monotonic, fake.sleep, 10),
        now=lambda: NOW,
    )


def test_a_rollback_to_a_month_old_scan_is_scanned_again_and_judged_on_that(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecr = ScriptedEcr([CLEAN_OLD, response("IN_PROGRESS"), CRITICAL_NEW])
    clock = FakeClock()
    with pytest.raises(ScanGateError) as caught:
        check(run_on(monkeypatch, ecr, clock=clock), DIGEST)
    assert "1 failing: CVE-2026-31337" in str(caught.value)
    assert ecr.calls.count("StartImageScan") == 1
    assert clock.sleeps == [10]


def test_a_second_up_the_same_day_starts_no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = response(findings=[], counts={}, completed_at="2026-11-30T08:59:00Z")
    ecr = ScriptedEcr([fresh])
    output = check(run_on(monkeypatch, ecr), DIGEST)
    assert output["passed"] is True
    assert output["scanCompletedAt"] == "2026-11-30T08:59:00+00:00"
    assert "StartImageScan" not in ecr.calls
    assert "GetRegistryScanningConfiguration" not in ecr.calls


def test_the_daily_scan_limit_waits_for_the_scan_already_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = aws_error("LimitExceededException", "once per 24 hours", "StartImageScan")
    ecr = ScriptedEcr([CLEAN_OLD, CLEAN_OLD, CRITICAL_NEW], start_error=limit)
    with pytest.raises(ScanGateError, match="CVE-2026-31337"):
        check(run_on(monkeypatch, ecr), DIGEST)
    assert ecr.calls.count("StartImageScan") == 1


def test_an_old_enhanced_scan_is_not_restarted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inspector rescans continuously; StartImageScan is for basic scanning only."""
    old = response("ACTIVE", enhanced_findings=[], counts={}, completed_at=MONTH_OLD)
    ecr = ScriptedEcr([old], scan_type="ENHANCED")
    assert check(run_on(monkeypatch, ecr), DIGEST)["passed"] is True
    assert "StartImageScan" not in ecr.calls


def test_expired_eligibility_ends_at_once_with_the_ways_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    ecr = ScriptedEcr([response("SCAN_ELIGIBILITY_EXPIRED")], scan_type="ENHANCED")
    with pytest.raises(ScanGateError) as caught:
        check(run_on(monkeypatch, ecr, clock=clock), DIGEST)
    message = str(caught.value)
    assert "re-scan duration in Inspector's settings" in message
    assert "push the image again" in message
    assert f"scanAcceptedDigests: [{{digest: {DIGEST}, expires: YYYY-MM-DD" in message
    assert clock.sleeps == []


def test_an_accepted_digest_passes_until_its_day(monkeypatch: pytest.MonkeyPatch) -> None:
    accepted = AcceptedDigest(DIGEST, TODAY, "rollback target, rebuilt next sprint")
    policy = ScanPolicy(accepted=(accepted,))
    ecr = ScriptedEcr([response("SCAN_ELIGIBILITY_EXPIRED")], scan_type="ENHANCED")
    output = check(run_on(monkeypatch, ecr, policy=policy), DIGEST)
    assert (output["passed"], output["acceptedUntil"]) == (True, "2026-11-30")
    expired = ScanPolicy(accepted=(AcceptedDigest(DIGEST, TODAY.replace(day=29), "old"),))
    with pytest.raises(ScanGateError, match="SCAN_ELIGIBILITY_EXPIRED"):
        check(run_on(monkeypatch, ecr, policy=expired), DIGEST)


def test_a_lost_enhanced_scan_ends_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    ecr = ScriptedEcr([NOT_FOUND], scan_type="ENHANCED")
    with pytest.raises(ScanGateError) as caught:
        check(run_on(monkeypatch, ecr, clock=clock), DIGEST)
    assert "ECR holds no scan of it (ScanNotFoundException" in str(caught.value)
    assert "switches between basic and enhanced" in str(caught.value)
    assert clock.sleeps == []


def test_a_lost_basic_scan_is_started_again(monkeypatch: pytest.MonkeyPatch) -> None:
    ecr = ScriptedEcr([NOT_FOUND, NOT_FOUND, response("IN_PROGRESS"), CRITICAL_NEW])
    with pytest.raises(ScanGateError, match="CVE-2026-31337"):
        check(run_on(monkeypatch, ecr), DIGEST)
    assert ecr.calls.count("StartImageScan") == 1


def test_just_after_a_push_no_scan_yet_means_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = response(findings=[], counts={}, completed_at="2026-11-30T08:59:00Z")
    ecr = ScriptedEcr([NOT_FOUND, NOT_FOUND, clean])
    clock = FakeClock()
    assert check(run_on(monkeypatch, ecr, fresh=True, clock=clock), DIGEST)["passed"] is True
    assert clock.sleeps == [10]
    assert "StartImageScan" not in ecr.calls


def test_inspector_coverage_confirms_an_ambiguous_enhanced_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    early = response("COMPLETE", enhanced_findings=[], completed_at=None)
    ecr = ScriptedEcr([early], scan_type="ENHANCED")
    ecr.coverage = [
        {
            "resourceId": f"{TARGET.arn}/{DIGEST}",
            "resourceType": "AWS_ECR_CONTAINER_IMAGE",
            "scanType": "PACKAGE",
            "scanStatus": {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"},
            "lastScannedAt": "2026-11-30T08:58:00Z",
        }
    ]
    assert check(run_on(monkeypatch, ecr, fresh=True), DIGEST)["passed"] is True
    assert "ListCoverage" in ecr.calls


def test_without_inspector_coverage_an_ambiguous_answer_keeps_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    early = response("ACTIVE", enhanced_findings=[], completed_at=None)
    late = response("ACTIVE", enhanced_findings=[enhanced("CVE-2026-5", "CRITICAL")])
    ecr = ScriptedEcr([early, early, early, late], scan_type="ENHANCED")
    with pytest.raises(ScanGateError, match="1 failing: CVE-2026-5"):
        check(run_on(monkeypatch, ecr, fresh=True), DIGEST)
    assert ecr.calls.count("ListCoverage") == 2


def index(*entries: tuple[str, dict[str, str]]) -> str:
    manifests = [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": d,
            "size": 1,
            "platform": p,
        }
        for d, p in entries
    ]
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }
    )


def test_an_index_is_gated_through_its_platform_images(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = response(findings=[basic("CVE-1", "LOW")], counts={"LOW": 1})
    ecr = ScriptedEcr([clean])
    ecr.manifests[DIGEST] = index(
        (AMD64, {"os": "linux", "architecture": "amd64"}),
        (ARM64, {"os": "linux", "architecture": "arm64"}),
        (ATTESTATION, {"os": "unknown", "architecture": "unknown"}),
    )
    platforms = ("linux/amd64", "linux/arm64")
    output = check(run_on(monkeypatch, ecr, platforms=platforms), DIGEST)
    asked = [r["imageId"]["imageDigest"] for r in ecr.requests]
    assert asked == [AMD64, AMD64, ARM64, ARM64]
    assert DIGEST not in asked and ATTESTATION not in asked
    assert output["digest"] == DIGEST
    assert output["counts"] == {"LOW": 2}
    assert sorted(output["platforms"]) == ["linux/amd64", "linux/arm64"]
    assert output["platforms"]["linux/arm64"]["digest"] == ARM64


def test_an_index_without_the_platform_fails_naming_what_it_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecr = ScriptedEcr([response()])
    ecr.manifests[DIGEST] = index((ARM64, {"os": "linux", "architecture": "arm64"}))
    with pytest.raises(ScanGateError) as caught:
        check(run_on(monkeypatch, ecr), DIGEST)
    assert str(caught.value) == (
        f"scan gate: image {DIGEST}: image index: no manifest for platform linux/amd64 "
        "(it lists: linux/arm64)"
    )


def test_preview_says_an_old_basic_scan_will_be_redone(monkeypatch: pytest.MonkeyPatch) -> None:
    ecr = ScriptedEcr([CLEAN_OLD])
    with pytest.raises(ScanGateError, match="last scanned 2026-10-31, over scanMaxAgeDays"):
        look(run_on(monkeypatch, ecr), DIGEST)
    assert "StartImageScan" not in ecr.calls
