"""`imageSbomSha256` in `pulumi up`: the SBOM's hash read from ECR for the gated digest.

ECR side of `infra.image_sbom.reader`, through the program's one AWS session
(`infra.aws_session`): `BatchGetImage` for the manifest (by digest, every manifest and index
media type accepted), then `GetDownloadUrlForLayer` and one HTTPS GET for the config and the
SBOM layer. Nothing is pulled and nothing runs, and it works the same for an image pushed in
this run and for a tag ECR already held. Like the scan gate it is an `apply` on the program
side (re-read on every `up`, testable under mocks). During preview the output is unknown.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi

from infra.aws_session import AwsSession
from infra.aws_types import AwsCallError, EcrTarget
from infra.image_sbom.reader import MAX_BLOB_BYTES, SbomError, image_sbom_sha256
from infra.oci import accepted_media_types, parse_json

IAM_HINT = "the deploying role needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer"


def ecr_sbom_sha256(session: AwsSession, target: EcrTarget, digest: str, platform: str) -> str:
    """Blocking: the SBOM hash of image `digest` in `target`'s repository, from ECR."""

    def manifest_bytes(ref: str) -> bytes:
        return _asked(lambda: session.manifest(target, ref, list(accepted_media_types())), ref)

    def blob(ref: str) -> bytes:
        return _asked(lambda: session.blob(target, ref, MAX_BLOB_BYTES), ref)

    # ECR looked the manifest up by this digest; a child manifest and every blob are checked
    # against their digests by the reader.
    top = parse_json(manifest_bytes(digest), f"manifest {digest}")
    return image_sbom_sha256(top, manifest_bytes, blob, platform)


def sbom_output(
    repository_arn: pulumi.Input[str],
    digest: pulumi.Input[str],
    platform: str,
    *,
    session: AwsSession,
) -> pulumi.Output[str]:
    """`imageSbomSha256`: resolved during `up` (after `digest`, i.e. after the scan gate).

    A failure fails the update with one line naming the digest (pulumi.RunError): an image
    whose SBOM cannot be read is not one the EKS side can check. Unknown during preview."""

    async def run(args: list[Any]) -> str:
        arn, image_digest = str(args[0]), str(args[1])
        try:
            target = EcrTarget.from_arn(arn)
            return await asyncio.to_thread(ecr_sbom_sha256, session, target, image_digest, platform)
        except Exception as exc:
            # Any cause (no credentials, a denied call, a broken image) becomes one line.
            detail = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            raise pulumi.RunError(f"imageSbomSha256: image {image_digest}: {detail}") from None

    inputs = pulumi.Output.all(repository_arn, digest)
    if pulumi.runtime.is_dry_run():
        return inputs.apply(lambda _: _unknown())
    return inputs.apply(run)


def _asked(call: Any, ref: str) -> bytes:
    """`call()`, with an AWS error turned into one SbomError naming the digest; the IAM hint
    only when permissions are the likely cause, never for missing credentials."""
    try:
        result: bytes = call()
        return result
    except AwsCallError as exc:
        if exc.no_credentials:
            raise SbomError(f"{ref}: no AWS credentials: {exc}") from None
        hint = f" ({IAM_HINT})" if "Denied" in exc.code or "Unauthorized" in exc.code else ""
        raise SbomError(f"{ref}: {exc}{hint}") from None


def _unknown() -> pulumi.Output[str]:
    # What preview shows for a value only `up` can compute: "output<string>".
    return pulumi.Output(set(), _done(""), _done(False))


async def _done(value: Any) -> Any:
    return value
