"""copy_image against in-memory registries: the order of writes, what is skipped, mounted or
sent, and the refusals. The real HTTP exchange is tests/container/test_promotion.py's."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import IO, Any

import pytest

from infra.oci import OCI_INDEX, OCI_MANIFEST
from infra.promotion.copier import DigestConflictError, copy_image
from infra.promotion.refs import PromotionError, Repository


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class FakeRegistry:
    """One repository; `mount` is what a mount request answers: 201, 202 or 405."""

    repository: Repository
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    mount: int = 201
    rewrite: bool = False
    log: list[str] = field(default_factory=list)
    source_blobs: dict[str, bytes] = field(default_factory=dict)

    def manifest(self, digest: str) -> tuple[bytes, str]:
        return self.manifests[digest]

    def manifest_digest(self, reference: str) -> str | None:
        if reference in self.tags:
            return self.tags[reference]
        return reference if reference in self.manifests else None

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str | None:
        stored = data + b" " if self.rewrite else data
        self.manifests[sha(stored)] = (stored, media_type)
        if not reference.startswith("sha256:"):
            self.tags[reference] = sha(stored)
        self.log.append(f"manifest {reference}")
        return sha(stored)

    def has_blob(self, digest: str) -> bool:
        return digest in self.blobs

    def mount_blob(self, digest: str, source: Repository) -> tuple[bool, str | None]:
        self.log.append(f"mount {digest}")
        if self.mount == 201:
            self.blobs[digest] = self.source_blobs[digest]
            return True, None
        return False, "session-from-mount" if self.mount == 202 else None

    def download_blob(self, digest: str) -> IO[bytes]:
        return io.BytesIO(self.blobs[digest])

    def upload_blob(self, digest: str, data: IO[bytes], upload_url: str | None = None) -> None:
        self.blobs[digest] = data.read()
        self.log.append(f"upload {digest} via {upload_url}")


def image(registry: FakeRegistry, name: bytes) -> tuple[str, bytes]:
    config, layer = b'{"os":"linux","' + name + b'":1}', b"layer " + name
    registry.blobs.update({sha(config): config, sha(layer): layer})
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "c", "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "l", "digest": sha(layer), "size": len(layer)}],
    }
    data = json.dumps(document).encode()
    registry.manifests[sha(data)] = (data, OCI_MANIFEST)
    return sha(data), data


def pair(host: str = "dev.test") -> tuple[FakeRegistry, FakeRegistry]:
    source = FakeRegistry(Repository(host, "mlops-dev/retail-api"))
    destination = FakeRegistry(Repository("prod.test", "mlops/retail-api"))
    return source, destination


def as_clients(source: FakeRegistry, destination: FakeRegistry) -> tuple[Any, Any]:
    return source, destination


def test_an_image_is_copied_blobs_first_and_tagged_last() -> None:
    source, destination = pair()
    digest, data = image(source, b"amd64")
    report = copy_image(*as_clients(source, destination), digest, "sha-1")
    assert destination.manifests[digest] == (data, OCI_MANIFEST)
    assert destination.tags == {"sha-1": digest}
    assert destination.blobs == source.blobs
    assert destination.log[-1] == "manifest sha-1"
    assert (report.copied, report.manifests, len(report.blobs_uploaded)) == (True, [digest], 2)


def test_blobs_the_destination_has_are_not_sent() -> None:
    source, destination = pair()
    digest, _ = image(source, b"amd64")
    destination.blobs.update(source.blobs)
    report = copy_image(*as_clients(source, destination), digest, "sha-1")
    assert report.blobs_uploaded == [] and len(report.blobs_present) == 2


@pytest.mark.parametrize(("answer", "session"), [(202, "session-from-mount"), (405, None)])
def test_a_declined_mount_falls_back_to_an_upload(answer: int, session: str | None) -> None:
    source, destination = pair(host="prod.test")
    destination.mount = answer
    digest, _ = image(source, b"amd64")
    report = copy_image(*as_clients(source, destination), digest, "sha-1")
    assert report.blobs_mounted == []
    assert [line for line in destination.log if line.startswith("upload")] == [
        f"upload {blob} via {session}" for blob in report.blobs_uploaded
    ]
    assert destination.blobs == source.blobs


def test_within_one_registry_blobs_are_mounted() -> None:
    source, destination = pair(host="prod.test")
    digest, _ = image(source, b"amd64")
    destination.source_blobs = source.blobs
    report = copy_image(*as_clients(source, destination), digest, "sha-1")
    assert (len(report.blobs_mounted), report.blobs_uploaded) == (2, [])


def test_an_index_copies_every_child_before_itself() -> None:
    source, destination = pair()
    children = [image(source, b"amd64"), image(source, b"arm64")]
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": d, "size": len(b)} for d, b in children
        ],
    }
    data = json.dumps(index).encode()
    source.manifests[sha(data)] = (data, OCI_INDEX)
    report = copy_image(*as_clients(source, destination), sha(data), "sha-2")
    assert report.manifests == [children[0][0], children[1][0], sha(data)]
    assert [line for line in destination.log if line.startswith("manifest")] == [
        f"manifest {children[0][0]}",
        f"manifest {children[1][0]}",
        "manifest sha-2",
    ]
    assert destination.manifests[sha(data)] == (data, OCI_INDEX)


def test_a_held_tag_is_a_no_op_or_a_refusal() -> None:
    source, destination = pair()
    digest, _ = image(source, b"amd64")
    destination.tags["sha-1"] = digest
    report = copy_image(*as_clients(source, destination), digest, "sha-1")
    assert (report.copied, destination.log) == (False, [])
    destination.tags["sha-1"] = "sha256:" + "0" * 64
    with pytest.raises(DigestConflictError, match="0{64}, not the promoted " + digest):
        copy_image(*as_clients(source, destination), digest, "sha-1")


def test_a_registry_that_stores_other_bytes_is_caught() -> None:
    source, destination = pair()
    destination.rewrite = True
    digest, _ = image(source, b"amd64")
    with pytest.raises(PromotionError, match=f"stored {digest} as sha256:"):
        copy_image(*as_clients(source, destination), digest, "sha-1")
