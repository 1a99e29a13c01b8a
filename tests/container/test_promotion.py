"""Promotion on a real engine and two real registries: "dev" and "prod" `docker-registry`s
on loopback, each demanding ECR's kind of login (user AWS, a random token, HTTP basic).

The API image is built and pushed into dev by the engine, then promoted into prod with the
copier the Pulumi program runs (`infra.promotion`): prod must serve the same manifest bytes
under the same tag, hence the same digest, and every blob byte for byte. An index with two
platform children is written into dev through the Docker Registry HTTP API V2 and promoted too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infra.oci import OCI_INDEX, OCI_MANIFEST
from infra.promotion.auth import Credentials
from infra.promotion.copier import DigestConflictError
from infra.promotion.provider import RegistryCopyProvider
from infra.promotion.run import Logins, promote
from testkit.engine import docker
from testkit.registry import REGISTRY_USER, Registry, RegistryApi, sha256
from tests.container.conftest import BuiltImage

pytestmark = pytest.mark.container

REPO = "mlops-dev/retail-api"
PROD_REPO = "mlops/retail-api"
TAG = "sha-0123456789ab"
INDEX_TAG = "sha-1ndexed00000"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def logins(*registries: Registry) -> Logins:
    return Logins(None, {r.host: Credentials(REGISTRY_USER, r.password) for r in registries})


def blobs_of(manifest: bytes) -> list[str]:
    document = json.loads(manifest)
    return [document["config"]["digest"], *(layer["digest"] for layer in document["layers"])]


@pytest.fixture(scope="module")
def dev(engine: None) -> Iterator[Registry]:
    registry = Registry().start()
    registry.login()
    yield registry
    registry.stop()


@pytest.fixture(scope="module")
def prod(engine: None) -> Iterator[Registry]:
    registry = Registry().start()
    yield registry
    registry.stop()


@pytest.fixture(scope="module")
def pushed(dev: Registry, built_image: BuiltImage) -> Iterator[str]:
    """The API image built by the engine, pushed to dev under TAG; its manifest digest."""
    ref = f"{dev.host}/{REPO}:{TAG}"
    docker("tag", built_image.tag, ref)
    docker("push", ref, timeout=600)
    yield RegistryApi(dev).manifest(REPO, TAG)[2]
    docker("rmi", ref, timeout=120)


def test_prod_serves_devs_manifest_bytes_digest_and_every_blob(
    dev: Registry, prod: Registry, pushed: str
) -> None:
    report = promote(
        f"{dev.host}/{REPO}@{pushed}",
        f"{prod.host}/{PROD_REPO}:{TAG}",
        logins(dev, prod),
        plain_http=True,
    )
    dev_bytes, dev_type, dev_digest = RegistryApi(dev).manifest(REPO, TAG)
    prod_bytes, prod_type, prod_digest = RegistryApi(prod).manifest(PROD_REPO, TAG)
    assert (prod_bytes, prod_type, prod_digest) == (dev_bytes, dev_type, dev_digest)
    assert prod_digest == pushed == sha256(prod_bytes)
    blobs = blobs_of(dev_bytes)
    assert len(blobs) >= 3, "a config and the image's layers"
    for blob in blobs:
        copied = RegistryApi(prod).blob(PROD_REPO, blob)
        assert copied == RegistryApi(dev).blob(REPO, blob)
        assert sha256(copied) == blob
    assert (report.copied, report.manifests) == (True, [pushed])
    assert sorted(report.blobs_uploaded) == sorted(set(blobs))
    assert report.blobs_mounted == [] and report.blobs_present == []


def test_a_second_promotion_is_a_no_op(dev: Registry, prod: Registry, pushed: str) -> None:
    source, destination = f"{dev.host}/{REPO}@{pushed}", f"{prod.host}/{PROD_REPO}:{TAG}"
    promote(source, destination, logins(dev, prod), plain_http=True)
    stored = prod.stored_bytes()
    again = promote(source, destination, logins(dev, prod), plain_http=True)
    assert (again.copied, again.digest, again.manifests) == (False, pushed, [])
    assert again.blobs_uploaded == again.blobs_mounted == again.blobs_present == []
    assert prod.stored_bytes() == stored


def test_within_one_registry_blobs_are_mounted_not_sent(dev: Registry, pushed: str) -> None:
    stored = dev.stored_bytes()
    report = promote(
        f"{dev.host}/{REPO}@{pushed}",
        f"{dev.host}/{PROD_REPO}:{TAG}",
        logins(dev),
        plain_http=True,
    )
    assert report.copied is True
    assert report.blobs_uploaded == []
    assert sorted(report.blobs_mounted) == sorted(
        set(blobs_of(RegistryApi(dev).manifest(REPO, TAG)[0]))
    )
    assert RegistryApi(dev).manifest(PROD_REPO, TAG)[2] == pushed
    assert dev.stored_bytes() == stored, "a mount links the blob; nothing is stored twice"


def test_a_tag_held_with_another_digest_is_refused_naming_both(
    dev: Registry, prod: Registry, pushed: str
) -> None:
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    other = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": RegistryApi(prod).put_blob(PROD_REPO, config),
            "size": len(config),
        },
        "layers": [],
    }
    held, _ = RegistryApi(prod).put_manifest(PROD_REPO, "sha-aaaaaaaaaaaa", other)
    with pytest.raises(DigestConflictError) as caught:
        promote(
            f"{dev.host}/{REPO}@{pushed}",
            f"{prod.host}/{PROD_REPO}:sha-aaaaaaaaaaaa",
            logins(dev, prod),
            plain_http=True,
        )
    assert held in str(caught.value) and pushed in str(caught.value)
    assert RegistryApi(prod).manifest(PROD_REPO, "sha-aaaaaaaaaaaa")[2] == held


def _second_child(api: RegistryApi) -> tuple[str, int]:
    """A small arm64 image written through the API: one config, one layer."""
    layer = b"retail-api arm64 layer stand-in"
    config = json.dumps(
        {
            "architecture": "arm64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        }
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": api.put_blob(REPO, config),
            "size": len(config),
        },
        "layers": [
            {"mediaType": OCI_LAYER, "digest": api.put_blob(REPO, layer), "size": len(layer)}
        ],
    }
    data = json.dumps(manifest).encode()
    return api.put_manifest(REPO, sha256(data), manifest)


def test_an_index_is_copied_with_both_children(dev: Registry, prod: Registry, pushed: str) -> None:
    api = RegistryApi(dev)
    amd64_bytes, amd64_type, _ = api.manifest(REPO, TAG)
    arm64, arm64_size = _second_child(api)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": amd64_type,
                "digest": pushed,
                "size": len(amd64_bytes),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": arm64,
                "size": arm64_size,
                "platform": {"architecture": "arm64", "os": "linux"},
            },
        ],
    }
    index_digest, _ = api.put_manifest(REPO, INDEX_TAG, index)
    provider = RegistryCopyProvider()
    credentials = {
        "aws": None,
        "basic": {r.host: {"username": REGISTRY_USER, "password": r.password} for r in (dev, prod)},
    }
    created = provider.create(
        {
            "source": f"{dev.host}/{REPO}@{index_digest}",
            "destination": f"{prod.host}/{PROD_REPO}:{INDEX_TAG}",
            "plainHttp": True,
            "credentials": json.dumps(credentials),
        }
    )
    outs = created.outs
    assert outs is not None
    assert (outs["digest"], outs["copied"]) == (index_digest, True)
    assert "credentials" not in outs
    assert RegistryApi(prod).manifest(PROD_REPO, INDEX_TAG) == api.manifest(REPO, INDEX_TAG)
    for child in (pushed, arm64):
        assert RegistryApi(prod).manifest(PROD_REPO, child) == api.manifest(REPO, child)
        for blob in blobs_of(api.manifest(REPO, child)[0]):
            assert RegistryApi(prod).blob(PROD_REPO, blob) == api.blob(REPO, blob)
    # Children first, the index last.
    assert outs["manifests"][-1] == index_digest
    assert set(outs["manifests"][:-1]) <= {pushed, arm64}
