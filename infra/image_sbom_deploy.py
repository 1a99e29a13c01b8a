"""`imageSbomSha256` in `pulumi up`: the SBOM's hash read from ECR for the gated digest.

ECR side of `infra.image_sbom`: `BatchGetImage` for the manifest (by digest, every manifest
and index media type accepted), `GetDownloadUrlForLayer` plus one HTTPS GET of the presigned
URL for the config and the SBOM layer. Nothing is pulled and nothing runs, and it works the
same for an image pushed in this run and for a tag ECR already held.

The ECR client is the scan gate's: same factory (`infra.scan_gate.deploy.stack_client_factory`,
which whole-program test harnesses replace in one place), same region and
account (from the repository ARN), same `aws:profile`/`aws:allowedAccountIds` check. Like the
gate it is an `apply` on the program side, for the same reasons (re-read on every `up`,
injectable under mocks). During preview the output is unknown: nothing is fetched.
Harnesses may replace `download` (the HTTPS GET) too.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

import pulumi

from infra.image_sbom import (
    MAX_BLOB_BYTES,
    SbomError,
    accepted_media_types,
    image_sbom_sha256,
    parse_json,
)
from infra.scan_gate import deploy as scan_deploy
from infra.scan_gate.aws import ClientFactory, EcrTarget

DOWNLOAD_TIMEOUT_SECONDS = 60
IAM_HINT = "the deploying role needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer"


class EcrImageClient(Protocol):
    """The two ECR calls made here (a boto3 ECR client satisfies it)."""

    def batch_get_image(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def get_download_url_for_layer(self, **kwargs: Any) -> Mapping[str, Any]: ...


def download(url: str, limit: int) -> bytes:
    """GET a presigned layer URL (HTTPS only), at most `limit` bytes."""
    if urllib.parse.urlsplit(url).scheme != "https":
        raise SbomError(f"layer download URL is not HTTPS: {url.split('?')[0]}")
    # The URL is AWS's own answer and carries its signature; no credentials are added.
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310
        data: bytes = response.read(limit + 1)
    if len(data) > limit:
        raise SbomError(f"layer download: over the {limit} byte cap")
    return data


def ecr_sbom_sha256(client: EcrImageClient, target: EcrTarget, digest: str, platform: str) -> str:
    """Blocking: the SBOM hash of image `digest` in `target`'s repository, from ECR."""
    scope = {"registryId": target.account, "repositoryName": target.repository}

    def manifest_bytes(ref: str) -> bytes:
        response = _call(client.batch_get_image, "BatchGetImage", ref, target)(
            **scope,
            imageIds=[{"imageDigest": ref}],
            acceptedMediaTypes=list(accepted_media_types()),
        )
        images = response.get("images") or []
        if not images:
            failures = response.get("failures") or [{}]
            code = failures[0].get("failureCode", "no image")
            reason = failures[0].get("failureReason", "")
            raise SbomError(f"image {ref}: BatchGetImage found no manifest: {code} {reason}")
        manifest = images[0].get("imageManifest")
        if not isinstance(manifest, str):
            raise SbomError(f"image {ref}: BatchGetImage returned no imageManifest")
        return manifest.encode()

    def blob(ref: str) -> bytes:
        response = _call(client.get_download_url_for_layer, "GetDownloadUrlForLayer", ref, target)(
            **scope, layerDigest=ref
        )
        url = response.get("downloadUrl")
        if not isinstance(url, str):
            raise SbomError(f"blob {ref}: GetDownloadUrlForLayer returned no downloadUrl")
        try:
            return download(url, MAX_BLOB_BYTES)
        except OSError as exc:
            raise SbomError(f"blob {ref}: download failed: {exc}") from None

    # ECR looked the manifest up by this digest; a child manifest and every blob are checked
    # against their digests by the core.
    top = parse_json(manifest_bytes(digest), f"manifest {digest}")
    return image_sbom_sha256(top, manifest_bytes, blob, platform)


def sbom_output(
    repository_arn: pulumi.Input[str],
    digest: pulumi.Input[str],
    platform: str,
    *,
    client_factory: ClientFactory | None = None,
) -> pulumi.Output[str]:
    """`imageSbomSha256`: resolved during `up` (after `digest`, i.e. after the scan gate).

    A failure fails the update with one line naming the digest (pulumi.RunError): an image
    whose SBOM cannot be read is not one the EKS side can check. Unknown during preview."""

    async def run(args: list[Any]) -> str:
        arn, image_digest = str(args[0]), str(args[1])
        factory = client_factory or scan_deploy.stack_client_factory()
        try:
            target = EcrTarget.from_arn(arn)
            client: EcrImageClient = factory(target)  # type: ignore[assignment]
            return await asyncio.to_thread(ecr_sbom_sha256, client, target, image_digest, platform)
        except Exception as exc:
            # Any cause (no credentials, a denied call, a broken image) becomes one line.
            detail = str(exc) if isinstance(exc, SbomError) else f"{type(exc).__name__}: {exc}"
            raise pulumi.RunError(f"imageSbomSha256: image {image_digest}: {detail}") from None

    inputs = pulumi.Output.all(repository_arn, digest)
    if pulumi.runtime.is_dry_run():
        return inputs.apply(lambda _: _unknown())
    return inputs.apply(run)


def _unknown() -> pulumi.Output[str]:
    # What preview shows for a value only `up` can compute: "output<string>".
    return pulumi.Output(set(), _done(""), _done(False))


async def _done(value: Any) -> Any:
    return value


def _call(method: Any, name: str, ref: str, target: EcrTarget) -> Any:
    """`method`, with any AWS error turned into one line naming the call, digest and code."""

    def call(**kwargs: Any) -> Mapping[str, Any]:
        try:
            result: Mapping[str, Any] = method(**kwargs)
            return result
        except Exception as exc:
            response = getattr(exc, "response", None)
            error = response.get("Error", {}) if isinstance(response, Mapping) else {}
            code = error.get("Code", type(exc).__name__)
            raise SbomError(
                f"{ref}: {name} in {target.account}/{target.region} failed: {code}: "
                f"{error.get('Message', exc)} ({IAM_HINT})"
            ) from None

    return call
