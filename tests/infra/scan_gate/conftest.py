"""Builders for DescribeImageScanFindings responses, written from the ECR API reference.

Response fields (DescribeImageScanFindings): `imageId.imageDigest`, `imageScanStatus.status`
and `.description`, `imageScanFindings` with `findingSeverityCounts` (FindingSeverity -> count),
`findings[]` (ImageScanFinding: `name`, `uri`, `severity`, `attributes[]` of {key, value}) and
`enhancedFindings[]` (EnhancedImageScanFinding: `severity`, `status`, `fixAvailable`, `title`,
`findingArn`, `packageVulnerabilityDetails.vulnerabilityId`, `.vulnerablePackages[]`), and
`nextToken`. The builders never call the code under test.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit.cli import run_module

DIGEST = "sha256:" + "4f" * 32
TODAY = dt.date(2026, 11, 30)


def basic(name: str, severity: str, package: str = "", version: str = "") -> dict[str, Any]:
    """An ImageScanFinding as basic scanning reports it (package in `attributes`)."""
    attributes = [{"key": "CVSS2_SCORE", "value": "7.5"}]
    if package:
        attributes += [
            {"key": "package_name", "value": package},
            {"key": "package_version", "value": version},
        ]
    return {
        "name": name,
        "uri": f"https://security-tracker.debian.org/tracker/{name}",
        "severity": severity,
        "attributes": attributes,
    }


def enhanced(
    vulnerability_id: str,
    severity: str,
    *,
    fix: str = "YES",
    status: str = "ACTIVE",
    package: str = "openssl",
    version: str = "3.0.11",
) -> dict[str, Any]:
    """An EnhancedImageScanFinding as Amazon Inspector reports it."""
    return {
        "awsAccountId": "842676018087",
        "findingArn": f"arn:aws:inspector2:eu-west-1:842676018087:finding/{vulnerability_id}",
        "severity": severity,
        "status": status,
        "fixAvailable": fix,
        "title": f"{vulnerability_id} - {package}",
        "type": "PACKAGE_VULNERABILITY",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": vulnerability_id,
            "source": "DEBIAN_CVE",
            "vulnerablePackages": [
                {"name": package, "version": version, "packageManager": "OS"},
            ],
        },
    }


def response(
    status: str = "COMPLETE",
    *,
    findings: list[dict[str, Any]] | None = None,
    enhanced_findings: list[dict[str, Any]] | None = None,
    counts: dict[str, int] | None = None,
    next_token: str | None = None,
    description: str | None = None,
    digest: str = DIGEST,
) -> dict[str, Any]:
    """One DescribeImageScanFindings response page; `imageScanFindings` only when given."""
    page: dict[str, Any] = {
        "registryId": "842676018087",
        "repositoryName": "mlops/retail-api",
        "imageId": {"imageDigest": digest, "imageTag": "sha-0123456789ab"},
        "imageScanStatus": {"status": status},
    }
    if description is not None:
        page["imageScanStatus"]["description"] = description
    block: dict[str, Any] = {}
    if counts is not None:
        block["findingSeverityCounts"] = counts
    if findings is not None:
        block["findings"] = findings
    if enhanced_findings is not None:
        block["enhancedFindings"] = enhanced_findings
    if block or status in ("COMPLETE", "ACTIVE"):
        page["imageScanFindings"] = block
    if next_token is not None:
        page["nextToken"] = next_token
    return page


@dataclass
class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class ScriptedEcr:
    """An ECR client answering DescribeImageScanFindings from a script.

    `polls` answer successive first-page calls (no nextToken), the last one repeating;
    `pages` answer calls by nextToken. Every request is recorded.
    """

    polls: list[Mapping[str, Any] | Exception]
    pages: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def describe_image_scan_findings(self, **kwargs: Any) -> Mapping[str, Any]:
        self.requests.append(kwargs)
        if "nextToken" in kwargs:
            return self.pages[kwargs["nextToken"]]
        answer = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def fetch(self, token: str | None) -> Mapping[str, Any]:
        """The FetchPage the pure wait loop takes."""
        return self.describe_image_scan_findings(**({"nextToken": token} if token else {}))


def run_cli(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m infra.scan_gate ARGS` in a fresh interpreter, from the project root."""
    return run_module("infra.scan_gate", *args, stdin=stdin)
