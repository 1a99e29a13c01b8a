"""Scan gate: only images whose ECR scan passes a severity threshold reach `imageRef`.

Public API (everything else in the package is internal):

Config (stack keys, H1's config table; each parser raises ValueError naming the key and rule):
    parse_fail_severity(value) -> Severity | None
        `scanFailSeverity`, default DEFAULT_FAIL_SEVERITY ("CRITICAL"); one of
        FAIL_SEVERITY_CHOICES (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, UNTRIAGED,
        NONE), any case; None (from NONE) = report only.
    parse_ignore(value) -> tuple[IgnoreEntry, ...]
        `scanIgnore`, default () ; a list of {id, expires: YYYY-MM-DD, reason} (or that list as
        a YAML/JSON string). An entry counts through its expiry day (UTC), then is reported.
    parse_timeout_seconds(value) -> int
        `scanTimeoutSeconds`, default DEFAULT_TIMEOUT_SECONDS (600); 1..MAX_TIMEOUT_SECONDS.

Pure gate (no Pulumi, no boto3):
    merge_pages(pages) -> ScanResult        DescribeImageScanFindings responses, basic or enhanced
    judge(result, policy, today) -> ScanSummary
    wait_for_scan(fetch, timeout_seconds, clock) -> ScanResult   polls; raises ScanGateError
    ScanSummary.to_output() -> dict          the `imageScan` stack output (camelCase keys:
        digest, status, failSeverity, passed, counts, failingIds, unlistedFailing, ignoredIds,
        expiredIgnoreIds); unjudged_output(...) gives the same keys for a scan not judged.

Deploy (imports Pulumi; builds a boto3 client only when no factory is given):
    gate_image(repository_arn, digest, policy, *, client_factory=None, clock=None, today=None)
        -> GatedImage(digest: Output[str], image_scan: Output[dict])
    The component passes `repository.arn` and the pushed digest and exports
    `gated.digest` (and `imageRef` built from it) and `gated.image_scan` as `imageScan`:
    during `up` they resolve only after the gate passes, otherwise the update fails with
    pulumi.RunError naming the digest and status. Preview, and `scanFailSeverity: NONE`,
    never fail: they warn. Import it from `infra.scan_gate.deploy` (kept out of this module so
    the CLI does not import Pulumi); whole-program test harnesses may replace
    `infra.scan_gate.deploy.boto3_client_factory` with a fake.

CLI: `python -m infra.scan_gate --findings FILE [--fail-on SEVERITY] [--ignore FILE]`
    exit 0 pass, 1 gate fails, 2 bad input. See docs/scan-gate.md.
"""

from infra.scan_gate.config import (
    DEFAULT_FAIL_SEVERITY,
    DEFAULT_TIMEOUT_SECONDS,
    FAIL_SEVERITY_CHOICES,
    FAIL_SEVERITY_KEY,
    IGNORE_KEY,
    MAX_TIMEOUT_SECONDS,
    TIMEOUT_KEY,
    load_ignore_file,
    parse_fail_severity,
    parse_ignore,
    parse_timeout_seconds,
)
from infra.scan_gate.findings import merge_pages
from infra.scan_gate.model import (
    REPORT_ONLY,
    Finding,
    FindingsError,
    IgnoreEntry,
    ScanGateError,
    ScanPolicy,
    ScanResult,
    ScanSummary,
    Severity,
    unjudged_output,
)
from infra.scan_gate.verdict import Clock, judge, wait_for_scan

__all__ = [
    "DEFAULT_FAIL_SEVERITY",
    "DEFAULT_TIMEOUT_SECONDS",
    "FAIL_SEVERITY_CHOICES",
    "FAIL_SEVERITY_KEY",
    "IGNORE_KEY",
    "MAX_TIMEOUT_SECONDS",
    "REPORT_ONLY",
    "TIMEOUT_KEY",
    "Clock",
    "Finding",
    "FindingsError",
    "IgnoreEntry",
    "ScanGateError",
    "ScanPolicy",
    "ScanResult",
    "ScanSummary",
    "Severity",
    "judge",
    "load_ignore_file",
    "merge_pages",
    "parse_fail_severity",
    "parse_ignore",
    "parse_timeout_seconds",
    "unjudged_output",
    "wait_for_scan",
]
