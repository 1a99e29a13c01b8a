"""publish_index against an in-memory registry: PUT once, a no-op when there, never moved."""

from __future__ import annotations

import hashlib
import json
from typing import cast

import pytest

from infra.multiarch.publish import PublishError, publish_index
from infra.oci import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from infra.promotion.client import RegistryClient
from infra.promotion.refs import Repository


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class MemoryRegistry:
    """The three calls publish_index makes, on dicts."""

    def __init__(self, manifests: dict[str, tuple[bytes, str]]) -> None:
        self.repository = Repository("registry.test", "mlops/retail-api")
        self.manifests = manifests
        self.tags: dict[str, str] = {}
        self.puts: list[tuple[str, str]] = []

    def manifest(self, digest: str) -> tuple[bytes, str]:
        return self.manifests[digest]

    def manifest_digest(self, reference: str) -> str | None:
        return self.tags.get(reference)

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str | None:
        self.puts.append((reference, media_type))
        self.manifests[digest_of(data)] = (data, media_type)
        self.tags[reference] = digest_of(data)
        return digest_of(data)


AMD64 = b'{"schemaVersion":2,"config":{"digest":"sha256:' + b"1" * 64 + b'"}}'
ARM64 = b'{"schemaVersion":2,"config":{"digest":"sha256:' + b"2" * 64 + b'"}}'


def registry(media_type: str = DOCKER_MANIFEST) -> MemoryRegistry:
    return MemoryRegistry(
        {digest_of(AMD64): (AMD64, media_type), digest_of(ARM64): (ARM64, media_type)}
    )


CHILDREN = {"linux/amd64": digest_of(AMD64), "linux/arm64": digest_of(ARM64)}


def test_the_index_goes_under_the_tag_with_the_registry_sizes() -> None:
    memory = registry()
    published = publish_index(cast(RegistryClient, memory), "sha-0123456789ab", CHILDREN)
    assert published.published is True
    assert memory.puts == [("sha-0123456789ab", DOCKER_MANIFEST_LIST)]
    assert memory.tags["sha-0123456789ab"] == published.digest
    document = json.loads(memory.manifests[published.digest][0])
    assert [
        (m["digest"], m["size"], m["platform"]["architecture"]) for m in document["manifests"]
    ] == [
        (digest_of(AMD64), len(AMD64), "amd64"),
        (digest_of(ARM64), len(ARM64), "arm64"),
    ]


def test_oci_children_get_an_oci_index() -> None:
    memory = registry(OCI_MANIFEST)
    published = publish_index(cast(RegistryClient, memory), "sha-0123456789ab", CHILDREN)
    assert published.media_type == OCI_INDEX


def test_a_second_publish_writes_nothing() -> None:
    memory = registry()
    first = publish_index(cast(RegistryClient, memory), "sha-0123456789ab", CHILDREN)
    again = publish_index(cast(RegistryClient, memory), "sha-0123456789ab", CHILDREN)
    assert (again.digest, again.published) == (first.digest, False)
    assert len(memory.puts) == 1


def test_a_tag_holding_another_digest_is_never_moved() -> None:
    memory = registry()
    memory.tags["sha-0123456789ab"] = "sha256:" + "e" * 64
    with pytest.raises(
        PublishError,
        match=r"mlops/retail-api:sha-0123456789ab already holds "
        r"sha256:e{64}, not the index sha256:[0-9a-f]{64}",
    ):
        publish_index(cast(RegistryClient, memory), "sha-0123456789ab", CHILDREN)
    assert memory.puts == []
