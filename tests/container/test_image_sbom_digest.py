"""imageSbomSha256's core against a real registry: what `docker cp` extracts, hashed, matches.

The session's built image is pushed to the session's registry (Debian's docker-registry, basic
auth as ECR's login), and `infra.image_sbom` reads it through the registry HTTP API V2
(`GET /v2/<name>/manifests/<reference>`, `GET /v2/<name>/blobs/<digest>`), as the program
reads ECR through BatchGetImage and the layer download URLs: no pull, no container started.
The expected hash is hashlib's over the file `docker create` + `docker cp` copies out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.request

import pytest

from infra.image_sbom import image_sbom_sha256
from infra.oci import accepted_media_types
from testkit.engine import copy_from_image, docker, inspect
from testkit.registry import REGISTRY_USER, Registry
from tests.container.conftest import IMAGE_REPO, BuiltImage

pytestmark = pytest.mark.container

SBOM_PATH = "/app/sbom.cdx.json"
PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


class RegistryApi:
    """GETs against `/v2/<name>/…` with the registry's basic auth, counting what was fetched."""

    def __init__(self, registry: Registry, name: str) -> None:
        self.base = f"http://{registry.host}/v2/{name}"
        token = base64.b64encode(f"{REGISTRY_USER}:{registry.password}".encode()).decode()
        self.auth = f"Basic {token}"
        self.fetched: list[str] = []

    def get(self, path: str, accept: str | None = None) -> bytes:
        request = urllib.request.Request(f"{self.base}/{path}")
        request.add_header("Authorization", self.auth)
        if accept:
            request.add_header("Accept", accept)
        self.fetched.append(path)
        with urllib.request.urlopen(request, timeout=60) as response:
            data: bytes = response.read()
        return data

    def manifest(self, reference: str) -> bytes:
        return self.get(f"manifests/{reference}", ", ".join(accepted_media_types()))

    def blob(self, digest: str) -> bytes:
        return self.get(f"blobs/{digest}")


@pytest.fixture(scope="module")
def pushed(built_image: BuiltImage, registry: Registry) -> str:
    """The session image in the registry; its manifest digest as the push reported it."""
    ref = f"{registry.host}/{IMAGE_REPO}:sbom-digest"
    docker("tag", built_image.tag, ref)
    match = PUSHED_DIGEST.search(docker("push", ref, timeout=600))
    assert match, "no digest in the push output"
    return match.group(1)


@pytest.fixture(scope="module")
def extracted_sha256(built_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory) -> str:
    target = tmp_path_factory.mktemp("sbom") / "sbom.cdx.json"
    copy_from_image(built_image.tag, SBOM_PATH, target)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def platform_of(image: str) -> str:
    found = inspect(image)
    return "/".join(p for p in (found["Os"], found["Architecture"], found.get("Variant")) if p)


def test_the_registry_read_hash_is_the_extracted_files(
    pushed: str, registry: Registry, built_image: BuiltImage, extracted_sha256: str
) -> None:
    api = RegistryApi(registry, IMAGE_REPO)
    manifest_bytes = api.manifest(pushed)
    assert "sha256:" + hashlib.sha256(manifest_bytes).hexdigest() == pushed
    manifest = json.loads(manifest_bytes)
    found = image_sbom_sha256(manifest, api.manifest, api.blob, platform_of(built_image.tag))
    assert found == extracted_sha256
    # Two blobs, not the image: the config, then the SBOM's own small layer (the venv's is
    # ~69 MB). An engine that pushes an index made one more manifest request first.
    image_manifest = json.loads(api.manifest(api.fetched[-3].removeprefix("manifests/")))
    blobs = [path.removeprefix("blobs/") for path in api.fetched if path.startswith("blobs/")]
    config_digest, layer_digest = blobs
    assert config_digest == image_manifest["config"]["digest"]
    (layer,) = [layer for layer in image_manifest["layers"] if layer["digest"] == layer_digest]
    assert layer["size"] < 1_000_000


def test_the_same_hash_by_tag_as_by_digest(
    pushed: str, registry: Registry, built_image: BuiltImage, extracted_sha256: str
) -> None:
    # A held tag and a fresh push differ only in how the manifest is found.
    api = RegistryApi(registry, IMAGE_REPO)
    manifest = json.loads(api.manifest("sbom-digest"))
    found = image_sbom_sha256(manifest, api.manifest, api.blob, platform_of(built_image.tag))
    assert found == extracted_sha256
