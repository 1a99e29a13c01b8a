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

from botocore.exceptions import ClientError

from testkit.cli import run_module

DIGEST = "sha256:" + "4f" * 32
TODAY = dt.date(2026, 11, 30)
SCANNED = "2026-11-30T08:00:00Z"
NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
# An image manifest (Docker v2), as BatchGetImage returns it for a single-platform image.
IMAGE_MANIFEST = (
    '{"schemaVersion": 2, "mediaType": '
    '"application/vnd.docker.distribution.manifest.v2+json", "config": {"mediaType": '
    '"application/vnd.docker.container.image.v1+json", "size": 7, "digest": "sha256:'
    + "c" * 64
    + '"}, "layers": []}'
)


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
    completed_at: str | None = SCANNED,
) -> dict[str, Any]:
    """One DescribeImageScanFindings response page; `imageScanFindings` only when given, with
    `imageScanCompletedAt` for a COMPLETE or ACTIVE one unless `completed_at` is None."""
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
    if status in ("COMPLETE", "ACTIVE") and completed_at is not None:
        block["imageScanCompletedAt"] = completed_at
        block.setdefault("vulnerabilitySourceUpdatedAt", completed_at)
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
    """An ECR (and Inspector) client answering from a script.

    `polls` answer successive first-page DescribeImageScanFindings calls (no nextToken), the
    last one repeating; `pages` answer calls by nextToken; `manifests` answer BatchGetImage by
    digest (any other digest is a plain image); `scan_type` answers
    GetRegistryScanningConfiguration; `coverage` answers ListCoverage; `start_error` is raised
    by StartImageScan. DescribeImageScanFindings requests are in `requests`, every call's
    name in `calls`.
    """

    polls: list[Mapping[str, Any] | Exception]
    pages: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    manifests: dict[str, str] = field(default_factory=dict)
    scan_type: str = "BASIC"
    coverage: list[Mapping[str, Any]] = field(default_factory=list)
    start_error: Exception | None = None

    def batch_get_image(self, **kwargs: Any) -> Mapping[str, Any]:
        self.calls.append("BatchGetImage")
        digest = kwargs["imageIds"][0]["imageDigest"]
        manifest = self.manifests.get(digest, IMAGE_MANIFEST)
        return {"images": [{"imageId": {"imageDigest": digest}, "imageManifest": manifest}]}

    def get_registry_scanning_configuration(self) -> Mapping[str, Any]:
        self.calls.append("GetRegistryScanningConfiguration")
        return {"registryId": "842676018087", "scanningConfiguration": {"scanType": self.scan_type}}

    def start_image_scan(self, **kwargs: Any) -> Mapping[str, Any]:
        self.calls.append("StartImageScan")
        if self.start_error is not None:
            raise self.start_error
        return {"imageId": kwargs["imageId"], "imageScanStatus": {"status": "IN_PROGRESS"}}

    def list_coverage(self, **kwargs: Any) -> Mapping[str, Any]:
        self.calls.append("ListCoverage")
        return {"coveredResources": self.coverage}

    def describe_image_scan_findings(self, **kwargs: Any) -> Mapping[str, Any]:
        self.requests.append(kwargs)
        self.calls.append("DescribeImageScanFindings")
        if "nextToken" in kwargs:
            return self.pages[kwargs["nextToken"]]
        answer = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
        if isinstance(answer, Exception):
            raise answer
        if "imageId" in kwargs:
            # ECR answers about the image it was asked about.
            return {**answer, "imageId": kwargs["imageId"]}
        return answer

    def fetch(self, token: str | None) -> Mapping[str, Any]:
        """The FetchPage the pure wait loop takes."""
        return self.describe_image_scan_findings(**({"nextToken": token} if token else {}))


def run_cli(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m infra.scan_gate ARGS` in a fresh interpreter, from the project root."""
    return run_module("infra.scan_gate", *args, stdin=stdin)


def aws_error(code: str, message: str, operation: str) -> ClientError:
    """What botocore raises for an AWS error answer."""
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)
