"""The image index document: one entry per platform, built from the children's manifests.

Pure: no Pulumi, no I/O. The bytes are canonical (sorted keys, no spaces), so the same children
always give the same index digest: a rerun publishes nothing new, and an immutable tag never
sees two indexes for one content. The index's media type follows the children's: Docker's
manifest list for Docker schema 2 images (what a Docker 20.10 push writes, and what
`docker manifest create` makes of them), the OCI index for OCI images
(https://github.com/opencontainers/image-spec/blob/main/image-index.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infra.multiarch.platforms import oci_platform
from infra.oci import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, is_digest


class IndexBuildError(ValueError):
    """A child cannot go into an index; the message names the platform and the field."""


@dataclass(frozen=True)
class Child:
    """One platform's image as the registry holds it."""

    platform: str
    digest: str
    size: int
    """Bytes of the manifest the registry serves for `digest`."""
    media_type: str


@dataclass(frozen=True)
class Index:
    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


def build_index(children: Sequence[Child]) -> Index:
    """The index listing `children` in order (the first is the default platform)."""
    if not children:
        raise IndexBuildError("image index: no children")
    kinds = {child.media_type for child in children}
    for child in children:
        if child.media_type not in (DOCKER_MANIFEST, OCI_MANIFEST):
            raise IndexBuildError(
                f"image index: {child.platform} child {child.digest} has media type "
                f"{child.media_type!r}, not an image manifest"
            )
        if not is_digest(child.digest) or child.size <= 0:
            raise IndexBuildError(f"image index: {child.platform} child: bad digest or size")
    media_type = DOCKER_MANIFEST_LIST if kinds == {DOCKER_MANIFEST} else OCI_INDEX
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": child.media_type,
                "digest": child.digest,
                "size": child.size,
                "platform": oci_platform(child.platform),
            }
            for child in children
        ],
    }
    data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return Index(data, media_type)
