"""The harness's fake ECR taught image indexes: per-platform children and the index resource.

`tests.infra.pulumi_harness` serves one small image for every BatchGetImage; a multi-platform
run needs the index the program publishes and each child under its own digest. `index_aware`
patches the harness for one test: a child build (`<tag>-<arch>`) pushes an image of its own,
the ImageIndex resource builds the real index document (`infra.multiarch.index`) from them, and
BatchGetImage answers with whichever manifest the digest names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest

from infra.multiarch.index import Child, build_index
from infra.oci import DOCKER_MANIFEST
from tests.infra import pulumi_harness as harness
from tests.infra.oci_image import Image, sbom_image

INDEX_TYPE = "pulumi-python:dynamic/multiarch:ImageIndex"
IMAGE_TYPE = "docker:index/image:Image"
ARCHES = {"amd64": "linux/amd64", "arm64": "linux/arm64"}


@dataclass
class Manifests:
    """digest -> manifest bytes the fake ECR serves, and the blobs of the child images."""

    by_digest: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    child_digests: dict[str, str] = field(default_factory=dict)
    """platform -> the digest its build pushed."""

    def child(self, sbom: bytes, platform: str) -> Image:
        image = sbom_image(sbom, {"test.platform": platform})
        self.by_digest[image.digest] = image.manifest_bytes
        self.blobs.update(image.blobs)
        self.child_digests[platform] = image.digest
        return image


class _LiveBlobs(dict[str, bytes]):
    def __init__(self, own: dict[str, bytes], more: dict[str, bytes]) -> None:
        super().__init__(own)
        self.more = more

    def __missing__(self, key: str) -> bytes:
        return self.more[key]


@contextmanager
def index_aware(monkeypatch: pytest.MonkeyPatch) -> Iterator[Manifests]:
    known = Manifests()
    new_resource = harness.AwsLikeMocks.new_resource
    batch_get_image = harness._ScanClient.batch_get_image
    original_sbom_image = sbom_image

    def resource(
        self: harness.AwsLikeMocks, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str, dict[str, Any]]:
        if args.typ == IMAGE_TYPE:
            repository, tag = args.inputs["imageName"].rsplit(":", 1)
            arch = tag.rsplit("-", 1)[-1]
            if arch in ARCHES:
                image = known.child(self.run.ecr.sbom, ARCHES[arch])
                if not self.preview:
                    self.run.ecr.push(repository.split("/", 1)[1], image.digest, tag)
                return f"{args.name}-id", {
                    **args.inputs,
                    "repoDigest": f"{repository}@{image.digest}",
                }
        if args.typ == INDEX_TYPE:
            children = [
                Child(
                    c["platform"], c["digest"], len(known.by_digest[c["digest"]]), DOCKER_MANIFEST
                )
                for c in args.inputs["children"]
            ]
            index = build_index(children)
            known.by_digest[index.digest] = index.data
            repository, tag = args.inputs["destination"].split("/", 1)[1].rsplit(":", 1)
            self.run.ecr.push(repository, index.digest, tag)
            return f"{args.name}-id", {**args.inputs, "digest": index.digest, "published": True}
        return new_resource(self, args)

    def get_image(self: harness._ScanClient, **kwargs: Any) -> dict[str, Any]:
        digest = kwargs["imageIds"][0].get("imageDigest")
        if digest in known.by_digest:
            self.ecr.requests.append(("BatchGetImage", kwargs))
            manifest = known.by_digest[digest].decode()
            return {"images": [{"imageId": kwargs["imageIds"][0], "imageManifest": manifest}]}
        return batch_get_image(self, **kwargs)

    def image_with_children(sbom: bytes, labels: dict[str, str] | None = None) -> Image:
        image = original_sbom_image(sbom, labels)
        # Read when the program downloads, after the builds of the run added their blobs.
        return Image(image.manifest, _LiveBlobs(image.blobs, known.blobs), image.manifests)

    monkeypatch.setattr(harness.AwsLikeMocks, "new_resource", resource)
    monkeypatch.setattr(harness._ScanClient, "batch_get_image", get_image)
    monkeypatch.setattr(harness, "sbom_image", image_with_children)
    yield known
