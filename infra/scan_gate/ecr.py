"""The gate's questions to ECR and Amazon Inspector, asked through the program's one AWS session.

No Pulumi import. Each function turns the session's answers (or AwsCallError) into what the
pure gate reads: response pages, the digests to judge, a rescan, a confirmation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from infra.aws_session import AwsSession
from infra.aws_types import AwsCallError, EcrTarget
from infra.oci import ManifestError, accepted_media_types, is_index, parse_json, platform_children
from infra.scan_gate.findings import SCAN_NOT_FOUND
from infra.scan_gate.model import ScanGateError
from infra.scan_gate.verdict import FetchPage

# What the deploying role needs for each call the gate makes (docs/ci-aws-setup.md).
IAM_NEEDS = {
    "DescribeImageScanFindings": "ecr:DescribeImageScanFindings",
    "BatchGetImage": "ecr:BatchGetImage",
    "StartImageScan": "ecr:StartImageScan",
    "GetRegistryScanningConfiguration": "ecr:GetRegistryScanningConfiguration",
    "ListCoverage": "inspector2:ListCoverage",
}
IMAGE_ITSELF = ""
"""The key `gate_targets` uses for a digest that is an image, not an index."""


def explain(exc: AwsCallError, target: EcrTarget, digest: str) -> ScanGateError:
    """One line: the digest, where, the call and its error; the IAM hint only when IAM is why."""
    where = f"{target.account}/{target.region}"
    if exc.no_credentials:
        return ScanGateError(
            f"scan gate: image {digest}: no AWS credentials for {where}: {exc} (set aws:profile, "
            "aws:accessKey/secretKey, aws:assumeRoles or the environment's credentials)"
        )
    needs = IAM_NEEDS.get(exc.call)
    hint = f" (the deploying role needs {needs})" if needs and "Denied" in exc.code else ""
    return ScanGateError(f"scan gate: image {digest}: {exc} in {where}{hint}")


def page_fetcher(session: AwsSession, target: EcrTarget, digest: str) -> FetchPage:
    """One DescribeImageScanFindings page for `digest`; ScanNotFoundException reads as the
    status SCAN_NOT_FOUND (the gate decides whether a scan may still come)."""

    def fetch(token: str | None) -> Mapping[str, Any]:
        try:
            return session.scan_findings_page(target, digest, token)
        except AwsCallError as exc:
            if exc.code == "ScanNotFoundException":
                return {
                    "imageId": {"imageDigest": digest},
                    "imageScanStatus": {"status": SCAN_NOT_FOUND, "description": str(exc)},
                }
            raise explain(exc, target, digest) from None

    return fetch


def gate_targets(
    session: AwsSession, target: EcrTarget, digest: str, platforms: Sequence[str]
) -> dict[str, str]:
    """What to judge for `digest`: {IMAGE_ITSELF: digest} for an image, or platform -> child
    digest for an index. ECR scans images, never an index
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html), and an
    index's attestation manifests (platform unknown/unknown) are no platform's image."""
    try:
        raw = session.manifest(target, digest, list(accepted_media_types()))
    except AwsCallError as exc:
        raise explain(exc, target, digest) from None
    try:
        manifest = parse_json(raw, f"manifest {digest}")
        if not is_index(manifest):
            return {IMAGE_ITSELF: digest}
        return platform_children(manifest, platforms)
    except ManifestError as exc:
        raise ScanGateError(f"scan gate: image {digest}: {exc}") from None


def start_rescan(session: AwsSession, target: EcrTarget, digest: str) -> bool:
    """StartImageScan. False when ECR's limit (one scan per image per 24 hours) refuses it: a
    scan started within the day, so its result is the one to wait for."""
    try:
        session.start_image_scan(target, digest)
    except AwsCallError as exc:
        if exc.code == "LimitExceededException":
            return False
        raise explain(exc, target, digest) from None
    return True


def scan_type_of(session: AwsSession, target: EcrTarget, digest: str) -> Callable[[], str]:
    """BASIC or ENHANCED for the registry, asked at most once (only when the gate needs it)."""
    known: list[str] = []

    def scan_type() -> str:
        if not known:
            try:
                known.append(session.registry_scan_type(target))
            except AwsCallError as exc:
                raise explain(exc, target, digest) from None
        return known[0]

    return scan_type


def inspector_confirms(session: AwsSession, target: EcrTarget, digest: str) -> bool:
    """Whether Amazon Inspector's coverage shows a finished scan of the image: statusCode
    ACTIVE and a `lastScannedAt` (https://docs.aws.amazon.com/inspector/v2/APIReference/
    API_CoveredResource.html)."""
    try:
        coverage = session.inspector_coverage(target, digest)
    except AwsCallError as exc:
        raise explain(exc, target, digest) from None
    if not coverage:
        return False
    status = coverage.get("scanStatus")
    code = status.get("statusCode") if isinstance(status, Mapping) else None
    return code == "ACTIVE" and bool(coverage.get("lastScannedAt"))
