"""OCI manifests, indexes and image configs: the shapes every registry reader here shares.

Pure: no Pulumi, no boto3, no network. Media types and fields follow the OCI image-spec
(manifest.md, image-index.md, config.md) and Docker's manifest v2 schema 2. The scan gate, the
SBOM reader and the held-image check all read ECR's `BatchGetImage` answers through these.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
# The label BuildKit and the Dockerfile set to the content tag the image was built from.
REVISION_LABEL = "org.opencontainers.image.revision"
_HEX = frozenset("0123456789abcdef")

# digest -> the raw bytes a registry serves for it (a manifest, or a blob).
Fetch = Callable[[str], bytes]


class ManifestError(ValueError):
    """A manifest, index or config is not what the spec describes; the message names the field."""


def is_digest(text: object) -> bool:
    """Whether `text` is an OCI manifest digest `sha256:<64 lowercase hex>`."""
    if not isinstance(text, str):
        return False
    algorithm, _, hex_part = text.partition(":")
    return algorithm == "sha256" and len(hex_part) == 64 and set(hex_part) <= _HEX


def is_index(manifest: Mapping[str, Any]) -> bool:
    """An image index / manifest list (by media type, or by its `manifests` array)."""
    return manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest


def accepted_media_types() -> Sequence[str]:
    """What a registry may answer with: both manifest kinds and both index kinds."""
    return (*MANIFEST_TYPES, *INDEX_TYPES)


def select_manifest(index: Mapping[str, Any], platform: str) -> str:
    """The digest of the index entry for `platform` (`os/arch[/variant]`, e.g. linux/arm64/v8).

    BuildKit's attestation entries carry platform `unknown/unknown`, so they never match."""
    wanted_os, _, rest = platform.partition("/")
    wanted_arch, _, wanted_variant = rest.partition("/")
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise ManifestError("image index: no `manifests` array")
    seen = []
    for entry in entries:
        found = entry.get("platform") if isinstance(entry, Mapping) else None
        if not isinstance(found, Mapping):
            continue
        seen.append("/".join(str(found.get(k, "")) for k in ("os", "architecture", "variant")))
        if found.get("os") != wanted_os or found.get("architecture") != wanted_arch:
            continue
        variant = found.get("variant")
        # Docker normalises arm64 to v8, so an entry without a variant is v8 too.
        if wanted_variant and variant not in (wanted_variant, None):
            continue
        return descriptor_digest(entry, f"image index entry for {platform}")
    listed = ", ".join(s.rstrip("/") for s in seen) or "none"
    raise ManifestError(f"image index: no manifest for platform {platform} (it lists: {listed})")


def platform_children(index: Mapping[str, Any], platforms: Sequence[str]) -> dict[str, str]:
    """platform -> child digest for every platform in `platforms`; ManifestError if one is
    missing. Attestation manifests (`unknown/unknown`) are never children of a platform."""
    return {platform: select_manifest(index, platform) for platform in platforms}


def verified(digest: str, data: bytes) -> bytes:
    """`data`, once its sha256 is the one `digest` (`sha256:<hex>`) names."""
    algorithm, _, expected = digest.partition(":")
    if algorithm != "sha256":
        raise ManifestError(f"{digest}: only sha256 digests are supported")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ManifestError(f"{digest}: fetched content hashes to sha256:{actual}")
    return data


def descriptor_digest(descriptor: object, what: str) -> str:
    """The `digest` of an OCI descriptor, checked for shape."""
    digest = descriptor.get("digest") if isinstance(descriptor, Mapping) else None
    if not is_digest(digest):
        raise ManifestError(f"{what}: no sha256 `digest` (got {digest!r})")
    assert isinstance(digest, str)
    return digest


def parse_json(data: bytes, what: str) -> Mapping[str, Any]:
    """A JSON object from registry bytes; ManifestError naming `what` otherwise."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{what}: not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ManifestError(f"{what}: not a JSON object")
    return document


def image_labels(config: Mapping[str, Any]) -> dict[str, str]:
    """The image config's `config.Labels` (config.md); {} when it has none."""
    inner = config.get("config")
    labels = inner.get("Labels") if isinstance(inner, Mapping) else None
    if not isinstance(labels, Mapping):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


def resolve_image(
    manifest: Mapping[str, Any], fetch_manifest: Fetch, fetch_blob: Fetch, platform: str
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(image manifest, image config) of `manifest`, or of its `platform` child for an index.

    Every fetched manifest and blob is checked against the digest it was asked for."""
    if is_index(manifest):
        child = select_manifest(manifest, platform)
        manifest = parse_json(verified(child, fetch_manifest(child)), f"manifest {child}")
        if is_index(manifest):
            raise ManifestError(f"manifest {child}: an index inside an index is not supported")
    config_ref = descriptor_digest(manifest.get("config"), "manifest config")
    config = parse_json(verified(config_ref, fetch_blob(config_ref)), f"config {config_ref}")
    return manifest, config
