"""Scan gate: only images whose ECR scan passes a severity threshold reach `imageRef`.

Public API (everything else in the package is internal):

Config (rows of the key table in infra/config/settings.py; each parser raises ValueError naming
the key and rule): parse_fail_severity (`scanFailSeverity`), parse_ignore (`scanIgnore`),
parse_timeout_seconds (`scanTimeoutSeconds`); `config` also parses `scanMaxAgeDays` and
`scanAcceptedDigests`.

Pure gate (no Pulumi, no boto3):
    merge_pages(pages) -> ScanResult        DescribeImageScanFindings responses, basic or enhanced
    judge(result, policy, today) -> ScanSummary
    wait_for_scan(fetch, timeout_seconds, clock, wait) -> ScanResult   polls until finished
    ScanSummary.to_output() -> dict          the `imageScan` stack output; unjudged_output(...)
        gives the same keys for a scan not judged.

Against ECR (no Pulumi): `gate.check` (what `up` runs) and `gate.look` (preview), through the
program's one AWS session (`infra.aws_session`); `ecr` holds the questions they ask.

Deploy: `deploy.gate_image(repository_arn, digest, policy, *, session, platforms, fresh_push)`
    -> GatedImage(digest, image_scan): during `up` they resolve only after the gate passes,
    otherwise the update fails with pulumi.RunError naming the digest and status. Preview, and
    `scanFailSeverity: NONE`, never fail: they warn. Kept out of this module so the CLI does
    not import Pulumi.

CLI: `python -m infra.scan_gate --findings FILE [--fail-on SEVERITY] [--ignore FILE]
[--ignore-unfixed]` (infra/cli/scan_gate.py): exit 0 pass, 1 gate fails or not finished, 2 bad
input. See docs/scan-gate.md.
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
