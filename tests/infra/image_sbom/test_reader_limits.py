"""infra/image_sbom/reader.py at its edges: a layer's whole uncompressed stream is hashed and
counted, end-of-archive padding included, and the decompression cap is exact.

A tar's end marker is two zero blocks, but writers may pad further (GNU tar and Python's
tarfile round the archive up to a 10240-byte record; some pad more), and the config's
`rootfs.diff_ids` entry is the sha256 of every byte of the uncompressed stream (OCI image-spec,
config.md). The layers here carry 64 KiB of zeros past the marker: more than the tar reader
reads ahead, so only a reader that drains the stream hashes and counts all of it.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from infra.image_sbom import SbomError, image_sbom_sha256, reader
from tests.infra.oci_image import (
    SBOM_COPY,
    SBOM_MEMBER,
    Image,
    Step,
    gzipped,
    image_of,
    sha256,
    tar_of,
)

SBOM = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}\n'
EXPECTED = hashlib.sha256(SBOM).hexdigest()
FILES = {"app/": b"", SBOM_MEMBER: SBOM, "app/zeros": bytes(3000)}
BLOCK = 512
PADDING = bytes(128 * BLOCK)


def padded_stream() -> bytes:
    """A real tar of FILES followed by PADDING: the layer's whole uncompressed stream."""
    stream = tar_of(FILES) + PADDING
    assert stream.endswith(bytes(2 * BLOCK + len(PADDING)))
    return stream


def image_with_layer(stream: bytes, compress: bool) -> Image:
    """An image whose one layer is `stream` (gzipped or not), its diff_id over all of it."""
    image = image_of([Step(SBOM_COPY, FILES, compress=compress)])
    blob = gzipped(stream) if compress else stream
    [layer] = image.manifest["layers"]
    del image.blobs[layer["digest"]]
    layer.update(digest=sha256(blob), size=len(blob))
    image.blobs[sha256(blob)] = blob
    config_digest = image.manifest["config"]["digest"]
    config = json.loads(image.blobs.pop(config_digest))
    config["rootfs"]["diff_ids"] = [sha256(stream)]
    config_bytes = json.dumps(config).encode()
    image.blobs[sha256(config_bytes)] = config_bytes
    image.manifest["config"].update(digest=sha256(config_bytes), size=len(config_bytes))
    return image


def hash_of(image: Image) -> str:
    return image_sbom_sha256(image.manifest, image.fetch_manifest, image.fetch_blob, "linux/amd64")


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "tar"])
def test_padding_after_the_end_marker_is_part_of_the_diff_id(compress: bool) -> None:
    stream = padded_stream()
    assert hash_of(image_with_layer(stream, compress)) == EXPECTED


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "tar"])
def test_a_diff_id_over_the_stream_without_its_padding_is_refused(compress: bool) -> None:
    # The diff_id of the tar up to its end marker is not the diff_id of the padded stream.
    image = image_with_layer(padded_stream(), compress)
    config_digest = image.manifest["config"]["digest"]
    config = json.loads(image.blobs.pop(config_digest))
    unpadded = sha256(tar_of(FILES))
    config["rootfs"]["diff_ids"] = [unpadded]
    config_bytes = json.dumps(config).encode()
    image.blobs[sha256(config_bytes)] = config_bytes
    image.manifest["config"]["digest"] = sha256(config_bytes)
    with pytest.raises(SbomError, match=f"does not match diff_id {unpadded}$"):
        hash_of(image)


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "tar"])
def test_a_layer_exactly_at_the_cap_is_read(
    monkeypatch: pytest.MonkeyPatch, compress: bool
) -> None:
    stream = padded_stream()
    monkeypatch.setattr(reader, "MAX_TAR_BYTES", len(stream))
    assert hash_of(image_with_layer(stream, compress)) == EXPECTED


@pytest.mark.parametrize("over", [1, BLOCK])
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "tar"])
def test_a_layer_past_the_cap_by_its_padding_is_refused(
    monkeypatch: pytest.MonkeyPatch, compress: bool, over: int
) -> None:
    # The bytes over the cap are in the padding: a reader that stops at the end marker, or a
    # cap larger than the one set, would let this layer through.
    stream = padded_stream()
    cap = len(stream) - over
    monkeypatch.setattr(reader, "MAX_TAR_BYTES", cap)
    with pytest.raises(
        SbomError, match=f"^layer sha256:[0-9a-f]{{64}}: over {cap} bytes uncompressed$"
    ):
        hash_of(image_with_layer(stream, compress))
