"""The sha256 of `/app/sbom.cdx.json` inside an image, read from the registry, never pulled.

Pure: no Pulumi, no boto3, no network. The caller hands in the manifest (an image manifest or
an index), the image config and a `fetch_blob(digest) -> bytes`; this module picks the one
layer that holds the SBOM, checks every blob against its digest, untars that layer as a
stream with size caps and hashes the file. The ECR side (`infra/image_sbom_deploy.py`) and
the real-registry test (`tests/container/test_image_sbom_digest.py`) supply the fetching.

Why the layer is found through the config's `history`: the Dockerfile copies the SBOM alone
(`COPY --from=builder /app/sbom.cdx.json /app/sbom.cdx.json`), and Docker/BuildKit record
that instruction as the `created_by` of a history entry. Entries with `empty_layer` made no
layer; the others map, in order, onto `manifest.layers` (OCI image-spec, config.md,
"history"). So one small blob (~30 kB) is fetched instead of the whole image.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

SBOM_PATH = "/app/sbom.cdx.json"
# Docker image manifest v2 schema 2 and OCI image-spec media types (manifest.md, image-index.md).
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
# Caps: the SBOM layer is ~30 kB compressed; these only stop a wrong or hostile blob early.
MAX_BLOB_BYTES = 64 * 1024 * 1024
MAX_TAR_BYTES = 256 * 1024 * 1024
MAX_SBOM_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

FetchBlob = Callable[[str], bytes]
FetchManifest = Callable[[str], bytes]


class SbomError(ValueError):
    """The SBOM's hash cannot be taken: the message names the digest and what is missing."""


def image_sbom_sha256(
    manifest: Mapping[str, Any],
    fetch_manifest: FetchManifest,
    fetch_blob: FetchBlob,
    platform: str,
) -> str:
    """Hex sha256 of the SBOM in the image `manifest` names (for an index, `platform`'s image).

    `fetch_manifest(digest)` returns a manifest's raw bytes, `fetch_blob(digest)` a blob's;
    both are checked against the digest they were asked for."""
    if is_index(manifest):
        child = select_manifest(manifest, platform)
        manifest = parse_json(verified(child, fetch_manifest(child)), f"manifest {child}")
        if is_index(manifest):
            raise SbomError(f"manifest {child}: an index inside an index is not supported")
    config_ref = descriptor_digest(manifest.get("config"), "manifest config")
    config = parse_json(verified(config_ref, fetch_blob(config_ref)), f"config {config_ref}")
    return sbom_sha256(manifest, config, fetch_blob)


def is_index(manifest: Mapping[str, Any]) -> bool:
    """An image index / manifest list (by media type, or by its `manifests` array)."""
    return manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest


def select_manifest(index: Mapping[str, Any], platform: str) -> str:
    """The digest of the index entry for `platform` (`os/arch[/variant]`, e.g. linux/arm64/v8).

    BuildKit's attestation entries carry platform `unknown/unknown`, so they never match."""
    wanted_os, _, rest = platform.partition("/")
    wanted_arch, _, wanted_variant = rest.partition("/")
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise SbomError("image index: no `manifests` array")
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
    raise SbomError(f"image index: no manifest for platform {platform} (it lists: {listed})")


def sbom_sha256(
    manifest: Mapping[str, Any], config: Mapping[str, Any], fetch_blob: FetchBlob
) -> str:
    """Hex sha256 of `/app/sbom.cdx.json` in the image made of `manifest` and `config`."""
    layer, diff_id = sbom_layer(manifest, config)
    blob = verified(layer, fetch_blob(layer))
    return file_sha256(blob, layer, diff_id)


def sbom_layer(manifest: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[str, str | None]:
    """The digest of the layer whose history entry names the SBOM, and its `diff_id`.

    The last such entry wins: a later layer writing the same path is what the image shows."""
    layers = manifest.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SbomError("manifest: no `layers`")
    history = config.get("history")
    if not isinstance(history, list) or not history:
        raise SbomError(f"config: no `history`, so no layer can be matched to {SBOM_PATH}")
    made_layers = [h for h in history if isinstance(h, Mapping) and not h.get("empty_layer")]
    if len(made_layers) != len(layers):
        raise SbomError(
            f"config: {len(made_layers)} history entries made a layer but the manifest lists "
            f"{len(layers)} layers"
        )
    named = [i for i, h in enumerate(made_layers) if SBOM_PATH in str(h.get("created_by", ""))]
    if not named:
        raise SbomError(f"config: no history entry's created_by names {SBOM_PATH}")
    position = named[-1]
    digest = descriptor_digest(layers[position], f"manifest layer {position}")
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, Mapping) else None
    diff_id = (
        diff_ids[position] if isinstance(diff_ids, list) and len(diff_ids) == len(layers) else None
    )
    return digest, diff_id


def file_sha256(blob: bytes, layer: str, diff_id: str | None = None) -> str:
    """Hex sha256 of the SBOM inside one layer blob (tar or gzip'd tar), read as a stream.

    With `diff_id` (config `rootfs.diff_ids`: the sha256 of the uncompressed tar) the whole
    tar is read and checked against it too."""
    if len(blob) > MAX_BLOB_BYTES:
        raise SbomError(f"layer {layer}: {len(blob)} bytes, over the {MAX_BLOB_BYTES} byte cap")
    if blob.startswith(_ZSTD_MAGIC):
        raise SbomError(f"layer {layer}: zstd-compressed layers are not supported (gzip or tar)")
    raw: io.BufferedIOBase = io.BytesIO(blob)
    if blob.startswith(_GZIP_MAGIC):
        raw = gzip.GzipFile(fileobj=raw)
    stream = _CappedReader(raw)
    found: str | None = None
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                if member.name.removeprefix("./").removeprefix("/") != SBOM_PATH[1:]:
                    continue
                if not member.isfile():
                    raise SbomError(f"layer {layer}: {SBOM_PATH} is not a regular file")
                if member.size > MAX_SBOM_BYTES:
                    raise SbomError(
                        f"layer {layer}: {SBOM_PATH} is {member.size} bytes, "
                        f"over the {MAX_SBOM_BYTES} byte cap"
                    )
                found = _hash(archive.extractfile(member))
        stream.drain()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SbomError(f"layer {layer}: not a readable tar: {exc}") from None
    except _TooBigError:
        raise SbomError(f"layer {layer}: over {MAX_TAR_BYTES} bytes uncompressed") from None
    if found is None:
        raise SbomError(f"layer {layer}: has no {SBOM_PATH}")
    if diff_id is not None and diff_id != f"sha256:{stream.sha256.hexdigest()}":
        raise SbomError(f"layer {layer}: uncompressed content does not match diff_id {diff_id}")
    return found


def verified(digest: str, data: bytes) -> bytes:
    """`data`, once its sha256 is the one `digest` (`sha256:<hex>`) names."""
    algorithm, _, expected = digest.partition(":")
    if algorithm != "sha256":
        raise SbomError(f"{digest}: only sha256 digests are supported")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise SbomError(f"{digest}: fetched content hashes to sha256:{actual}")
    return data


def descriptor_digest(descriptor: object, what: str) -> str:
    """The `digest` of an OCI descriptor, checked for shape."""
    digest = descriptor.get("digest") if isinstance(descriptor, Mapping) else None
    if not isinstance(digest, str) or not digest.startswith("sha256:") or len(digest) != 71:
        raise SbomError(f"{what}: no sha256 `digest` (got {digest!r})")
    return digest


def parse_json(data: bytes, what: str) -> Mapping[str, Any]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SbomError(f"{what}: not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise SbomError(f"{what}: not a JSON object")
    return document


def accepted_media_types() -> Sequence[str]:
    """What a registry may answer with: both manifest kinds and both index kinds."""
    return (*MANIFEST_TYPES, *INDEX_TYPES)


def _hash(handle: IO[bytes] | None) -> str:
    digest = hashlib.sha256()
    if handle is not None:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _TooBigError(Exception):
    pass


class _CappedReader(io.RawIOBase):
    """Reads through, hashing and counting the uncompressed bytes; _TooBigError past the cap."""

    def __init__(self, inner: io.BufferedIOBase) -> None:
        self.inner = inner
        self.count = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size if size >= 0 else _CHUNK)
        self.count += len(data)
        if self.count > MAX_TAR_BYTES:
            raise _TooBigError
        self.sha256.update(data)
        return data

    def drain(self) -> None:
        """Read what the tar reader left (end-of-archive padding), so the hash covers it all."""
        while self.read(_CHUNK):
            pass
