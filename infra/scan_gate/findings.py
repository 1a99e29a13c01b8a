"""Read `DescribeImageScanFindings` responses (what `aws ecr describe-image-scan-findings` prints).

Field names follow the ECR API reference: `imageId.imageDigest`, `imageScanStatus.status` /
`.description`, `imageScanFindings.findingSeverityCounts`, `.findings[]` (basic: `name`,
`severity`, `attributes[]` of {key, value}), `.enhancedFindings[]` (Amazon Inspector:
`severity`, `status`, `fixAvailable`, `title`, `findingArn`,
`packageVulnerabilityDetails.vulnerabilityId` / `.vulnerablePackages[].name`), `nextToken`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from infra.scan_gate.model import Finding, FindingsError, ScanResult, Severity

# Statuses with findings to judge: COMPLETE (basic scan, or enhanced on push) and ACTIVE
# (enhanced, continuously rescanned).
JUDGEABLE = frozenset({"COMPLETE", "ACTIVE"})
# Statuses that may still turn judgeable: keep polling until the timeout.
WAITING = frozenset({"IN_PROGRESS", "PENDING"})
# Enhanced scanning stops rescanning an image past Inspector's re-scan duration; no scan comes.
ELIGIBILITY_EXPIRED = "SCAN_ELIGIBILITY_EXPIRED"
# Not an ECR status: the gate's name for ScanNotFoundException (no scan of this digest exists).
SCAN_NOT_FOUND = "SCAN_NOT_FOUND"


def page_status(page: object) -> tuple[str, str, str]:
    """(digest, status, description) of one response page; raises FindingsError on bad shape."""
    doc = _mapping(page, "document")
    image_id = _mapping(doc.get("imageId", {}), "imageId")
    digest = _text(image_id.get("imageDigest", ""), "imageId.imageDigest") or "<unknown digest>"
    scan_status = _mapping(doc.get("imageScanStatus"), "imageScanStatus")
    status = _text(scan_status.get("status", ""), "imageScanStatus.status")
    if not status:
        raise FindingsError("imageScanStatus.status: missing")
    description = _text(scan_status.get("description", ""), "imageScanStatus.description")
    return digest, status, description


def completed_at(page: object) -> dt.datetime | None:
    """`imageScanFindings.imageScanCompletedAt` (UTC), or None when ECR did not say.

    boto3 gives a datetime; the AWS CLI prints ISO 8601 or epoch seconds."""
    block = _mapping(page, "document").get("imageScanFindings")
    value = block.get("imageScanCompletedAt") if isinstance(block, Mapping) else None
    where = "imageScanFindings.imageScanCompletedAt"
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise FindingsError(f"{where}: {value!r} is not an ISO 8601 time") from None
    else:
        raise FindingsError(f"{where}: {value!r} is not a time")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def is_finished(page: object) -> bool:
    """A judgeable status *and* `imageScanCompletedAt`.

    The API reference marks every findings field optional, and enhanced scanning has answered
    COMPLETE (or ACTIVE) with an empty list and no completion time for seconds after a push,
    the findings arriving later (https://github.com/aws/aws-sdk/issues/289): an empty list
    without a completion time proves nothing."""
    _, status, _ = page_status(page)
    return status in JUDGEABLE and completed_at(page) is not None


def next_token(page: Mapping[str, Any]) -> str | None:
    """The page's `nextToken`, or None on the last page."""
    token = page.get("nextToken")
    if token in (None, ""):
        return None
    return _text(token, "nextToken")


def merge_pages(pages: Sequence[object]) -> ScanResult:
    """One ScanResult from every page of a judgeable scan (first page's status and counts).

    Raises FindingsError when the document is malformed, the status is not judgeable, or the
    last page still carries a `nextToken` (findings would be missing).
    """
    if not pages:
        raise FindingsError("document: no response pages")
    digest, status, _ = page_status(pages[0])
    if status not in JUDGEABLE:
        raise FindingsError(f"imageScanStatus.status: {status} has no findings to judge")
    last = _mapping(pages[-1], "document")
    if next_token(last) is not None:
        raise FindingsError(
            "nextToken: the document is one page of several; pass every page "
            "(a JSON list of responses) or let the AWS CLI paginate"
        )
    findings: list[Finding] = []
    shapes: set[str] = set()
    counts: Counter[Severity] | None = None
    for number, page in enumerate(pages):
        where = "imageScanFindings" if len(pages) == 1 else f"page {number + 1}: imageScanFindings"
        block = _mapping(_mapping(page, "document").get("imageScanFindings"), where)
        if counts is None and "findingSeverityCounts" in block:
            counts = _counts(block["findingSeverityCounts"], f"{where}.findingSeverityCounts")
        shapes |= {name for name in ("findings", "enhancedFindings") if name in block}
        basic = _items(block, "findings", where)
        findings += [_basic(f, f"{where}.findings[{i}]") for i, f in basic]
        enhanced = _items(block, "enhancedFindings", where)
        findings += [_enhanced(f, f"{where}.enhancedFindings[{i}]") for i, f in enhanced]
    if counts is None:
        counts = Counter(f.severity for f in findings)
    shape = "enhanced" if "enhancedFindings" in shapes else "basic" if shapes else "counts"
    return ScanResult(digest, status, dict(counts), tuple(findings), shape, completed_at(pages[0]))


def _items(block: Mapping[str, Any], name: str, where: str) -> list[tuple[int, object]]:
    value = block.get(name, [])
    if not isinstance(value, list):
        raise FindingsError(f"{where}.{name}: must be a list")
    return list(enumerate(value))


def _basic(item: object, where: str) -> Finding:
    finding = _mapping(item, where)
    ident = _text(finding.get("name", ""), f"{where}.name")
    if not ident:
        raise FindingsError(f"{where}.name: missing (the CVE id)")
    attributes = finding.get("attributes", [])
    if not isinstance(attributes, list):
        raise FindingsError(f"{where}.attributes: must be a list")
    attrs = {
        str(a.get("key")): str(a.get("value", "")) for a in attributes if isinstance(a, Mapping)
    }
    package = " ".join(p for p in (attrs.get("package_name"), attrs.get("package_version")) if p)
    return Finding(ident, _severity(finding.get("severity"), f"{where}.severity"), package)


def _enhanced(item: object, where: str) -> Finding:
    finding = _mapping(item, where)
    details = _mapping(finding.get("packageVulnerabilityDetails", {}), where)
    ident = (
        _text(details.get("vulnerabilityId", ""), f"{where}.packageVulnerabilityDetails")
        or _text(finding.get("title", ""), f"{where}.title")
        or _text(finding.get("findingArn", ""), f"{where}.findingArn")
    )
    if not ident:
        raise FindingsError(
            f"{where}: no packageVulnerabilityDetails.vulnerabilityId, title or findingArn"
        )
    packages = details.get("vulnerablePackages", [])
    names = (
        [
            " ".join(str(p[k]) for k in ("name", "version") if p.get(k))
            for p in packages
            if isinstance(p, Mapping)
        ]
        if isinstance(packages, list)
        else []
    )
    fix = _text(finding.get("fixAvailable", ""), f"{where}.fixAvailable")
    severity = _severity(finding.get("severity"), f"{where}.severity")
    status = _text(finding.get("status", ""), f"{where}.status")
    return Finding(ident, severity, ", ".join(n for n in names if n), fix, status)


def _counts(value: object, where: str) -> Counter[Severity]:
    counts: Counter[Severity] = Counter()
    for name, number in _mapping(value, where).items():
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise FindingsError(f"{where}.{name}: {number!r} must be a count (0 or more)")
        counts[_severity(name, f"{where} key")] += number
    return counts


def _severity(value: object, where: str) -> Severity:
    try:
        return Severity(value if isinstance(value, str) else "")
    except ValueError:
        names = ", ".join(s.value for s in Severity)
        raise FindingsError(f"{where}: {value!r} is not one of {names}") from None


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FindingsError(f"{where}: must be a JSON object")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise FindingsError(f"{where}: {value!r} must be a string")
    return value
