"""Relations describe-images does not show, read from `aws ecr batch-get-image` output.

An index (manifest list) names its children in `manifests[].digest`; a referrer (signature,
SBOM, attestation pushed with the OCI 1.1 `subject` field) names the image it refers to in
`subject.digest`. Each document is what `aws ecr batch-get-image --output json` prints:
`{"images": [{"imageId": {"imageDigest": ...}, "imageManifest": "<manifest JSON text>"}]}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class ManifestsError(ValueError):
    """A manifests document that cannot be read; the message names the entry and field."""


@dataclass(frozen=True)
class Relations:
    """What the manifests say: `children` of each index, the `subject` of each referrer, and
    `read`, every digest whose manifest was seen (so its relations are known, even if none)."""

    children: Mapping[str, frozenset[str]] = field(default_factory=dict)
    subjects: Mapping[str, str] = field(default_factory=dict)
    read: frozenset[str] = frozenset()

    def parents(self, digest: str) -> frozenset[str]:
        return frozenset(index for index, kids in self.children.items() if digest in kids)


def parse_batch_get_image(documents: Iterable[tuple[str, object]]) -> Relations:
    """Relations from (source name, parsed JSON) pairs; ManifestsError names source and field."""
    children: dict[str, frozenset[str]] = {}
    subjects: dict[str, str] = {}
    read: set[str] = set()
    for source, document in documents:
        for where, digest, manifest in _entries(source, document):
            read.add(digest)
            kids = manifest.get("manifests")
            if kids is not None:
                children[digest] = frozenset(_child_digests(where, kids))
            subject = manifest.get("subject")
            if subject is not None:
                subjects[digest] = _digest(f"{where}.imageManifest.subject", subject)
    return Relations(children, subjects, frozenset(read))


def _entries(source: str, document: object) -> Iterable[tuple[str, str, Mapping[str, Any]]]:
    if not isinstance(document, Mapping) or not isinstance(document.get("images"), list):
        raise ManifestsError(
            f'{source}: must be batch-get-image output, an object with an "images" list'
        )
    for index, entry in enumerate(document["images"]):
        where = f"{source}: images[{index}]"
        if not isinstance(entry, Mapping):
            raise ManifestsError(f"{where}: must be an object")
        image_id = entry.get("imageId")
        digest = image_id.get("imageDigest") if isinstance(image_id, Mapping) else None
        if not isinstance(digest, str) or not digest:
            raise ManifestsError(f"{where}.imageId.imageDigest: required, a non-empty string")
        text = entry.get("imageManifest")
        if not isinstance(text, str):
            raise ManifestsError(f"{where}.imageManifest: required, the manifest's JSON text")
        try:
            manifest = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ManifestsError(f"{where}.imageManifest: not valid JSON") from exc
        if not isinstance(manifest, Mapping):
            raise ManifestsError(f"{where}.imageManifest: must be a JSON object")
        yield where, digest, manifest


def _child_digests(where: str, kids: object) -> list[str]:
    if not isinstance(kids, list):
        raise ManifestsError(f"{where}.imageManifest.manifests: must be a list")
    return [_digest(f"{where}.imageManifest.manifests[{i}]", kid) for i, kid in enumerate(kids)]


def _digest(where: str, descriptor: object) -> str:
    digest = descriptor.get("digest") if isinstance(descriptor, Mapping) else None
    if not isinstance(digest, str) or not digest:
        raise ManifestsError(f"{where}.digest: required, a non-empty string")
    return digest
