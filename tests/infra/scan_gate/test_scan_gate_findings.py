"""merge_pages reads both result shapes of DescribeImageScanFindings, all pages merged.

Field names relied on (ECR API reference, DescribeImageScanFindings response):
`imageId.imageDigest`, `imageScanStatus.status`, `imageScanFindings.findingSeverityCounts`,
`imageScanFindings.findings[].name` / `.severity` / `.attributes[]`,
`imageScanFindings.enhancedFindings[].severity` / `.status` / `.fixAvailable` /
`.packageVulnerabilityDetails.vulnerabilityId`, `nextToken`.
"""

from __future__ import annotations

import datetime as dt

import pytest

from infra.scan_gate import Finding, FindingsError, Severity, merge_pages
from infra.scan_gate.findings import completed_at, is_finished

from .conftest import DIGEST, basic, enhanced, response


def test_basic_findings_with_counts() -> None:
    """Basic: the CVE id is `name`, the package comes from `attributes` package_name/version."""
    page = response(
        findings=[
            basic("CVE-2024-0001", "CRITICAL", "openssl", "3.0.11"),
            basic("CVE-2024-2", "LOW"),
        ],
        counts={"CRITICAL": 1, "LOW": 1},
    )
    result = merge_pages([page])
    assert (result.digest, result.status, result.shape) == (DIGEST, "COMPLETE", "basic")
    assert result.counts == {Severity.CRITICAL: 1, Severity.LOW: 1}
    assert result.findings == (
        Finding("CVE-2024-0001", Severity.CRITICAL, "openssl 3.0.11"),
        Finding("CVE-2024-2", Severity.LOW, ""),
    )


def test_enhanced_findings() -> None:
    """Enhanced: id from packageVulnerabilityDetails.vulnerabilityId, plus fixAvailable."""
    page = response(
        "ACTIVE",
        enhanced_findings=[enhanced("CVE-2023-5678", "HIGH", fix="PARTIAL")],
        counts={"HIGH": 1},
    )
    result = merge_pages([page])
    assert (result.status, result.shape) == ("ACTIVE", "enhanced")
    assert result.findings == (
        Finding("CVE-2023-5678", Severity.HIGH, "openssl 3.0.11", "PARTIAL", "ACTIVE"),
    )


def test_enhanced_untriaged_and_fallback_id() -> None:
    """Inspector's UNTRIAGED severity is accepted; without a vulnerabilityId the title names it."""
    finding = enhanced("GHSA-abcd-efgh-ijkl", "UNTRIAGED")
    del finding["packageVulnerabilityDetails"]["vulnerabilityId"]
    result = merge_pages([response("ACTIVE", enhanced_findings=[finding])])
    assert result.findings[0].id == "GHSA-abcd-efgh-ijkl - openssl"
    assert result.counts == {Severity.UNTRIAGED: 1}


def test_counts_only_document() -> None:
    """Only `findingSeverityCounts` (e.g. `--query`'d output): counts kept, nothing listed."""
    result = merge_pages([response(counts={"HIGH": 3, "MEDIUM": 2})])
    assert result.shape == "counts"
    assert result.findings == ()
    assert result.counts == {Severity.HIGH: 3, Severity.MEDIUM: 2}


def test_counts_derived_when_absent() -> None:
    result = merge_pages([response(findings=[basic("CVE-1", "HIGH"), basic("CVE-2", "HIGH")])])
    assert result.counts == {Severity.HIGH: 2}


def test_no_findings_at_all() -> None:
    """A clean image: COMPLETE with an empty `imageScanFindings`."""
    result = merge_pages([response()])
    assert (result.findings, result.counts) == ((), {})


def test_pages_are_merged_and_counts_come_from_the_first() -> None:
    """`findingSeverityCounts` covers every finding; later pages only continue the lists."""
    first = response(
        findings=[basic("CVE-1", "CRITICAL")], counts={"CRITICAL": 2, "HIGH": 1}, next_token="t1"
    )
    second = response(findings=[basic("CVE-2", "CRITICAL")], next_token="t2")
    third = response(findings=[basic("CVE-3", "HIGH")])
    result = merge_pages([first, second, third])
    assert [f.id for f in result.findings] == ["CVE-1", "CVE-2", "CVE-3"]
    assert result.counts == {Severity.CRITICAL: 2, Severity.HIGH: 1}


def test_one_page_of_several_is_refused() -> None:
    with pytest.raises(FindingsError, match=r"^nextToken: the document is one page of several"):
        merge_pages([response(findings=[basic("CVE-1", "LOW")], next_token="more")])


@pytest.mark.parametrize("status", ["IN_PROGRESS", "FAILED", "UNSUPPORTED_IMAGE"])
def test_unjudgeable_status_is_refused(status: str) -> None:
    with pytest.raises(FindingsError, match=f"imageScanStatus.status: {status} has no findings"):
        merge_pages([response(status)])


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("text", "document: must be a JSON object"),
        ({"imageId": {"imageDigest": DIGEST}}, "imageScanStatus: must be a JSON object"),
        ({"imageScanStatus": {}}, "imageScanStatus.status: missing"),
        ({"imageScanStatus": {"status": "COMPLETE"}}, "imageScanFindings: must be a JSON object"),
        (
            response(findings=[{"severity": "HIGH"}]),
            r"imageScanFindings.findings\[0\].name: missing",
        ),
        (
            response(findings=[basic("CVE-1", "SEVERE")]),
            r"imageScanFindings.findings\[0\].severity: 'SEVERE' is not one of CRITICAL",
        ),
        (
            response(counts={"HIGH": -1}),
            r"imageScanFindings.findingSeverityCounts.HIGH: -1 must be a count",
        ),
        (
            {**response(), "imageScanFindings": {"findings": {"name": "CVE-1"}}},
            "imageScanFindings.findings: must be a list",
        ),
        (
            response("ACTIVE", enhanced_findings=[{"severity": "HIGH"}]),
            r"enhancedFindings\[0\]: no packageVulnerabilityDetails.vulnerabilityId, title",
        ),
    ],
)
def test_malformed_documents_name_the_field(page: object, message: str) -> None:
    with pytest.raises(FindingsError, match=message):
        merge_pages([page])


def test_no_pages() -> None:
    with pytest.raises(FindingsError, match="no response pages"):
        merge_pages([])


def test_a_zero_count_is_a_count() -> None:
    """ECR lists severities with 0 findings too; 0 is a count, not an error."""
    page = response(findings=[basic("CVE-1", "HIGH")], counts={"HIGH": 1, "CRITICAL": 0})
    result = merge_pages([page])
    assert result.counts == {Severity.HIGH: 1, Severity.CRITICAL: 0}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-30T08:00:00Z", dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)),
        ("2026-11-30T16:00:00+08:00", dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)),
        (1796083200.0, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 30, 8), dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)),
    ],
)
def test_completion_time_in_every_shape_aws_prints(value: object, expected: dt.datetime) -> None:
    page = response()
    page["imageScanFindings"]["imageScanCompletedAt"] = value
    assert completed_at(page) == expected
    assert is_finished(page) is True


def test_no_completion_time_is_not_finished() -> None:
    assert is_finished(response(findings=[], completed_at=None)) is False
    assert is_finished(response("IN_PROGRESS")) is False
