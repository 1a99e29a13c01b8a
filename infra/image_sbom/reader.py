"""The sha256 of `/app/sbom.cdx.json` inside an image, read from the registry, never pulled.

Pure: no Pulumi, no boto3, no network. The caller hands in the manifest (an image manifest or
an index), the image config and a `fetch_blob(digest) -> bytes`; this module picks the one
layer that holds the SBOM, checks every blob against its digest, untars that layer as a
stream with size caps and hashes the file. The ECR side (`infra/image_sbom/deploy.py`) and
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
import tarfile
from collections.abc import Callable, Mapping
from typing import IO, Any

from infra.oci import ManifestError, descriptor_digest, resolve_image, verified

SBOM_PATH = "/app/sbom.cdx.json"
# Caps: the SBOM layer is ~30 kB compressed; these only stop a wrong or hostile blob early.
MAX_BLOB_BYTES = 64 * 1024 * 1024
MAX_TAR_BYTES = 256 * 1024 * 1024
MAX_SBOM_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

FetchBlob = Callable[[str], bytes]


class SbomError(ManifestError):
    """The SBOM's hash cannot be taken: the message names the digest and what is missing."""


def image_sbom_sha256(
    manifest: Mapping[str, Any],
    fetch_manifest: FetchBlob,
    fetch_blob: FetchBlob,
    platform: str,
) -> str:
    """Hex sha256 of the SBOM in the image `manifest` names (for an index, `platform`'s image).

    `fetch_manifest(digest)` returns a manifest's raw bytes, `fetch_blob(digest)` a blob's;
    both are checked against the digest they were asked for."""
    try:
        image, config = resolve_image(manifest, fetch_manifest, fetch_blob, platform)
        return sbom_sha256(image, config, fetch_blob)
    except SbomError:
        raise
    except ManifestError as exc:
        raise SbomError(str(exc)) from None


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
