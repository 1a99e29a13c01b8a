"""Publish an image index through the registry HTTP API V2, with `infra.promotion`'s client.

The children are already in the repository (each platform's build pushed its own tag); the
index is assembled from the manifests the registry serves for them, so every descriptor's size
and media type are the registry's own, then PUT under the tag. A tag is never moved: when it
holds another digest the publish stops, as an immutable ECR repository would refuse it anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from infra.multiarch.index import Child, Index, build_index
from infra.promotion.client import RegistryClient
from infra.promotion.run import Logins, parse_destination


class PublishError(ValueError):
    """The index cannot be published; the message names the repository, tag and digests."""


@dataclass(frozen=True)
class Published:
    digest: str
    published: bool
    """False when the tag already held this index (nothing was written)."""
    media_type: str


def index_of(client: RegistryClient, children: Mapping[str, str]) -> Index:
    """The index for `children` (platform -> digest, in order), read from the registry."""
    found = []
    for platform, digest in children.items():
        data, media_type = client.manifest(digest)
        found.append(Child(platform, digest, len(data), media_type))
    return build_index(found)


def publish_index(client: RegistryClient, tag: str, children: Mapping[str, str]) -> Published:
    """PUT the index of `children` under `tag`; a no-op when the tag holds it already."""
    index = index_of(client, children)
    held = client.manifest_digest(tag)
    if held == index.digest:
        return Published(index.digest, False, index.media_type)
    if held is not None:
        raise PublishError(
            f"{client.repository}:{tag} already holds {held}, not the index {index.digest} of "
            "these children; a published tag is never moved (a content tag names one content)"
        )
    written = client.put_manifest(tag, index.data, index.media_type)
    if written is not None and written != index.digest:
        raise PublishError(f"{client.repository} stored index {index.digest} as {written}")
    return Published(index.digest, True, index.media_type)


def publish(
    destination: str, children: Mapping[str, str], logins: Logins, *, plain_http: bool
) -> Published:
    """`host/repo:tag` gets the index of `children`; logins as a promotion resolves them."""
    repository, tag = parse_destination(destination)
    client = RegistryClient(repository, logins.for_repository(repository), plain_http=plain_http)
    try:
        return publish_index(client, tag, children)
    finally:
        client.close()
