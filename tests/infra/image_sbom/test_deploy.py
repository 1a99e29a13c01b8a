"""infra/image_sbom/deploy.py: the ECR calls, and `imageSbomSha256` from the whole program.

ECR request fields are the API reference's (BatchGetImage: registryId, repositoryName,
imageIds[].imageDigest, acceptedMediaTypes; GetDownloadUrlForLayer: layerDigest, answering
downloadUrl). The program runs under the harness's mocks (tests/infra/pulumi_harness.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
import pytest
from botocore.exceptions import ClientError
from pulumi.runtime.sync_await import _sync_await

from infra import aws_session
from infra.aws_config import AwsConfig
from infra.aws_session import AwsSession
from infra.aws_types import EcrTarget
from infra.image_sbom import SbomError
from infra.image_sbom import reader as image_sbom
from infra.image_sbom.deploy import ecr_sbom_sha256
from tests.infra.conftest import ACCOUNT, REGION, engine_config
from tests.infra.oci_image import Image, image_of, index_of, sbom_image
from tests.infra.promotion.support import building
from tests.infra.pulumi_harness import (
    FakeEcr,
    ProgramRun,
    _ScanClient,
    program_run,
    resolve,
    serve_boto3,
)

SBOM = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {}}\n'
REPOSITORY = "mlops/retail-api"
TARGET = EcrTarget("aws", REGION, ACCOUNT, REPOSITORY)
HELD = "sha256:" + "ab" * 32
# Docker v2 and OCI manifests and indexes, as the distribution and image specs name them.
MEDIA_TYPES = {
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
}


def client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class FakeEcrImages:
    """BatchGetImage and GetDownloadUrlForLayer over one image (or index), recording requests."""

    def __init__(self, image: Image, top: str) -> None:
        self.image, self.top = image, top
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.deny_layers = False

    def batch_get_image(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(("BatchGetImage", kwargs))
        digest = kwargs["imageIds"][0]["imageDigest"]
        manifest = self.image.manifest_bytes if digest == self.top else None
        manifest = manifest or self.image.manifests.get(digest)
        if manifest is None:
            failure = {"failureCode": "ImageNotFound", "failureReason": "Requested image not found"}
            return {"images": [], "failures": [failure]}
        return {"images": [{"imageManifest": manifest.decode()}], "failures": []}

    def get_download_url_for_layer(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(("GetDownloadUrlForLayer", kwargs))
        if self.deny_layers:
            raise client_error(
                "AccessDeniedException",
                "not authorized: ecr:GetDownloadUrlForLayer",
                "GetDownloadUrlForLayer",
            )
        return {
            "downloadUrl": f"https://prod-{REGION}-starport-layer-bucket.s3.amazonaws.com/{kwargs['layerDigest']}?X-Amz-Signature=x"
        }


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The presigned URLs' content: blob digest -> bytes, served without a network."""
    blobs: dict[str, bytes] = {}

    def download(url: str, limit: int) -> bytes:
        assert limit == image_sbom.MAX_BLOB_BYTES
        return blobs[url.split("?")[0].rsplit("/", 1)[1]]

    monkeypatch.setattr(aws_session, "download", download)
    return blobs


def session_serving(monkeypatch: pytest.MonkeyPatch, client: Any) -> AwsSession:
    serve_boto3(monkeypatch, client)
    return AwsSession(AwsConfig())


def test_manifest_config_and_one_layer_are_asked_for_by_digest(
    served: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = sbom_image(SBOM)
    served |= image.blobs
    client = FakeEcrImages(image, HELD)
    session = session_serving(monkeypatch, client)
    assert ecr_sbom_sha256(session, TARGET, HELD, "linux/amd64") == hashlib.sha256(SBOM).hexdigest()
    scope = {"registryId": ACCOUNT, "repositoryName": REPOSITORY}
    (name, first), *layers = client.requests
    assert name == "BatchGetImage"
    assert set(first.pop("acceptedMediaTypes")) == MEDIA_TYPES
    assert first == {**scope, "imageIds": [{"imageDigest": HELD}]}
    assert layers == [
        ("GetDownloadUrlForLayer", {**scope, "layerDigest": image.manifest["config"]["digest"]}),
        ("GetDownloadUrlForLayer", {**scope, "layerDigest": image.manifest["layers"][2]["digest"]}),
    ]


def test_an_index_costs_one_more_batch_get_image(
    served: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    arm = image_of([], "linux/arm64")
    amd = sbom_image(SBOM)
    index = index_of(
        [
            ({"os": "linux", "architecture": "arm64"}, arm),
            ({"os": "linux", "architecture": "amd64"}, amd),
        ]
    )
    served |= index.blobs
    client = FakeEcrImages(index, HELD)
    session = session_serving(monkeypatch, client)
    assert ecr_sbom_sha256(session, TARGET, HELD, "linux/amd64") == hashlib.sha256(SBOM).hexdigest()
    asked = [r["imageIds"][0]["imageDigest"] for n, r in client.requests if n == "BatchGetImage"]
    assert asked == [HELD, amd.digest]


def test_an_image_ecr_does_not_hold_names_the_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeEcrImages(sbom_image(SBOM), "sha256:" + "00" * 32)
    session = session_serving(monkeypatch, client)
    with pytest.raises(SbomError) as caught:
        ecr_sbom_sha256(session, TARGET, HELD, "linux/amd64")
    assert str(caught.value) == (
        f"{HELD}: BatchGetImage failed: ImageNotFound: Requested image not found"
    )


def test_a_denied_layer_url_names_the_call_and_the_permission(
    served: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FakeEcrImages(sbom_image(SBOM), HELD)
    client.deny_layers = True
    session = session_serving(monkeypatch, client)
    with pytest.raises(SbomError) as caught:
        ecr_sbom_sha256(session, TARGET, HELD, "linux/amd64")
    message = str(caught.value)
    assert "GetDownloadUrlForLayer failed: AccessDeniedException" in message
    assert "ecr:BatchGetImage and ecr:GetDownloadUrlForLayer" in message


def test_missing_credentials_are_not_blamed_on_iam(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import NoCredentialsError

    class NoKeys:
        def batch_get_image(self, **kwargs: Any) -> dict[str, Any]:
            raise NoCredentialsError()

    session = session_serving(monkeypatch, NoKeys())
    with pytest.raises(SbomError) as caught:
        ecr_sbom_sha256(session, TARGET, HELD, "linux/amd64")
    assert str(caught.value) == (
        f"{HELD}: no AWS credentials: BatchGetImage failed: NoCredentialsError: "
        "Unable to locate credentials"
    )


@pytest.mark.parametrize("url", ["http://example.test/blob", "file:///etc/passwd"])
def test_only_https_urls_are_downloaded(url: str) -> None:
    with pytest.raises(ValueError, match="not HTTPS"):
        aws_session.download(url, 10)


def sbom_export(run: ProgramRun) -> object:
    return resolve(pulumi.Output.from_input(run.exports["imageSbomSha256"]))


def test_a_fresh_build_exports_the_hash_of_its_sbom() -> None:
    run = ProgramRun(ecr=FakeEcr(sbom=SBOM))
    with program_run("prod", building(engine_config("prod")), run=run):
        assert len(run.of_type("docker:index/image:Image")) == 1
        assert sbom_export(run) == hashlib.sha256(SBOM).hexdigest()


def test_a_tag_ecr_holds_exports_the_hash_read_for_its_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    original = _ScanClient.batch_get_image

    def recording(self: _ScanClient, **kwargs: Any) -> dict[str, Any]:
        asked.append(kwargs["imageIds"][0]["imageDigest"])
        return original(self, **kwargs)

    monkeypatch.setattr(_ScanClient, "batch_get_image", recording)
    ecr = FakeEcr(sbom=SBOM)
    # First run pushes the content tag; the second finds it and builds nothing.
    with program_run("prod", building(engine_config("prod")), run=ProgramRun(ecr=ecr)):
        pass
    asked.clear()
    run = ProgramRun(ecr=ecr)
    with program_run("prod", building(engine_config("prod")), run=run):
        assert run.of_type("docker:index/image:Image") == []
        assert sbom_export(run) == hashlib.sha256(SBOM).hexdigest()
        digest = resolve(pulumi.Output.from_input(run.exports["imageDigest"]))
    (held,) = ecr.images[REPOSITORY]
    # The gate reads the manifest (image or index?), then the SBOM reader does.
    assert asked == [held[0], held[0]] == [digest, digest]


def test_preview_leaves_the_hash_unknown_and_downloads_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_ScanClient, "get_download_url_for_layer", None)  # calling it would fail
    with program_run("prod", building(engine_config("prod")), preview=True) as run:
        output = pulumi.Output.from_input(run.exports["imageSbomSha256"])
        assert _sync_await(output.is_known()) is False


def test_an_unreadable_sbom_fails_the_update_naming_the_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(image_sbom, "MAX_SBOM_BYTES", 8)
    run = ProgramRun(ecr=FakeEcr(sbom=SBOM))
    with (
        pytest.raises(
            pulumi.RunError,
            match=(
                r"^imageSbomSha256: image sha256:[0-9a-f]{64}: layer sha256:[0-9a-f]{64}: "
                rf"/app/sbom.cdx.json is {len(SBOM)} bytes, over the 8 byte cap$"
            ),
        ),
        program_run("dev", engine_config("dev"), run=run),
    ):
        pass
