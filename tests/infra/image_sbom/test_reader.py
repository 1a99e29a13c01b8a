"""infra/image_sbom/reader.py: the SBOM's sha256 from manifest, config and blobs, on real tarballs.

Images are built in memory (tests/infra/oci_image.py, OCI image-spec field names); expected
hashes are hashlib.sha256 of the bytes the test itself put at app/sbom.cdx.json.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from infra.image_sbom import SbomError, image_sbom_sha256
from infra.image_sbom import reader as image_sbom
from tests.infra.oci_image import (
    SBOM_COPY,
    SBOM_MEMBER,
    Image,
    Step,
    gzipped,
    image_of,
    index_of,
    sbom_image,
    sha256,
    tar_of,
)

SBOM = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}\n'
EXPECTED = hashlib.sha256(SBOM).hexdigest()
DIGEST_IN_MESSAGE = re.compile(r"sha256:[0-9a-f]{64}")


def hash_of(image: Image, platform: str = "linux/amd64") -> str:
    return image_sbom_sha256(image.manifest, image.fetch_manifest, image.fetch_blob, platform)


def test_only_the_config_and_the_sbom_layer_are_fetched() -> None:
    image = sbom_image(SBOM)
    fetched: list[str] = []

    def fetch(digest: str) -> bytes:
        fetched.append(digest)
        return image.blobs[digest]

    assert image_sbom_sha256(image.manifest, image.fetch_manifest, fetch, "linux/amd64") == EXPECTED
    # Layers with content: base (0), venv (1), SBOM (2), code (3); ENV and LABEL made none.
    assert fetched == [image.manifest["config"]["digest"], image.manifest["layers"][2]["digest"]]


def test_empty_layer_entries_do_not_shift_the_layer_order() -> None:
    # If empty_layer entries were counted, the SBOM entry (6th) would point at a layer without it.
    steps = [Step(f"ENV N{i}={i}") for i in range(4)]
    steps += [Step("ADD base /", {"etc/hostname": b"h\n"}), Step(SBOM_COPY, {SBOM_MEMBER: SBOM})]
    steps += [Step("COPY . /x", {"x/a": b"a"}), Step("COPY . /y", {"y/b": b"b"})]
    assert hash_of(image_of(steps)) == EXPECTED


def test_the_last_layer_writing_the_sbom_is_the_one_the_image_shows() -> None:
    old = Step("COPY /app/sbom.cdx.json /app/sbom.cdx.json", {SBOM_MEMBER: b"old"})
    image = image_of([old, Step(SBOM_COPY, {SBOM_MEMBER: SBOM})])
    assert hash_of(image) == EXPECTED


@pytest.mark.parametrize("member", ["./app/sbom.cdx.json", "app/sbom.cdx.json"])
def test_uncompressed_layers_and_dot_slash_names_are_read(member: str) -> None:
    image = image_of([Step(SBOM_COPY, {"app/": b"", member: SBOM}, compress=False)])
    assert hash_of(image) == EXPECTED


def platform_image(arch: str, variant: str | None = None) -> tuple[dict[str, str], Image]:
    platform = {"os": "linux", "architecture": arch} | ({"variant": variant} if variant else {})
    steps = [Step(SBOM_COPY, {SBOM_MEMBER: f"sbom for {arch}".encode()})]
    return platform, image_of(steps, f"linux/{arch}")


def multi_platform_index(arm_variant: str | None) -> Image:
    # BuildKit's provenance entry: platform unknown/unknown, never a candidate.
    attestation = ({"os": "unknown", "architecture": "unknown"}, sbom_image(b"attestation"))
    return index_of([platform_image("amd64"), platform_image("arm64", arm_variant), attestation])


@pytest.mark.parametrize(
    ("platform", "arm_variant", "chosen"),
    [
        ("linux/amd64", "v8", b"sbom for amd64"),
        ("linux/arm64", "v8", b"sbom for arm64"),
        ("linux/arm64/v8", "v8", b"sbom for arm64"),
        # Docker writes arm64 without a variant too; it is v8.
        ("linux/arm64/v8", None, b"sbom for arm64"),
    ],
)
def test_an_index_is_resolved_to_the_stack_platform(
    platform: str, arm_variant: str | None, chosen: bytes
) -> None:
    index = multi_platform_index(arm_variant)
    assert hash_of(index, platform) == hashlib.sha256(chosen).hexdigest()


def test_an_index_without_the_platform_names_it_and_what_it_lists() -> None:
    index = index_of([platform_image("amd64")])
    with pytest.raises(SbomError) as caught:
        hash_of(index, "linux/arm64/v8")
    assert str(caught.value) == (
        "image index: no manifest for platform linux/arm64/v8 (it lists: linux/amd64)"
    )


def test_a_child_manifest_that_is_not_what_the_index_names_is_refused() -> None:
    index = index_of([platform_image("amd64")])
    child = index.manifest["manifests"][0]["digest"]
    index.manifests[child] = sbom_image(SBOM).manifest_bytes
    with pytest.raises(SbomError, match=rf"^{child}: fetched content hashes to sha256:"):
        hash_of(index)


@pytest.mark.parametrize("which", ["config", "layer"])
def test_a_blob_that_does_not_match_its_digest_is_refused(which: str) -> None:
    image = sbom_image(SBOM)
    digest = (
        image.manifest["config"]["digest"]
        if which == "config"
        else image.manifest["layers"][2]["digest"]
    )
    image.blobs[digest] = image.blobs[digest] + b" "
    with pytest.raises(SbomError) as caught:
        hash_of(image)
    message = str(caught.value)
    assert message.startswith(f"{digest}: fetched content hashes to sha256:")
    assert DIGEST_IN_MESSAGE.findall(message)[1] == sha256(image.blobs[digest])


def test_a_named_layer_without_the_file_says_which_layer() -> None:
    image = image_of([Step(SBOM_COPY, {"app/other.json": b"{}"})])
    layer = image.manifest["layers"][0]["digest"]
    with pytest.raises(SbomError) as caught:
        hash_of(image)
    assert str(caught.value) == f"layer {layer}: has no /app/sbom.cdx.json"


def test_an_image_whose_history_never_names_the_sbom_is_refused() -> None:
    image = image_of([Step("COPY . /app", {SBOM_MEMBER: SBOM})])
    with pytest.raises(SbomError) as caught:
        hash_of(image)
    assert str(caught.value) == "config: no history entry's created_by names /app/sbom.cdx.json"


def test_history_and_layers_out_of_step_is_refused() -> None:
    image = sbom_image(SBOM)
    image.manifest["layers"].pop()
    with pytest.raises(
        SbomError, match=r"^config: 4 history entries made a layer but the manifest lists 3 layers$"
    ):
        hash_of(image)


def test_an_sbom_over_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_sbom, "MAX_SBOM_BYTES", len(SBOM) - 1)
    image = sbom_image(SBOM)
    with pytest.raises(
        SbomError, match=rf"is {len(SBOM)} bytes, over the {len(SBOM) - 1} byte cap"
    ):
        hash_of(image)
    monkeypatch.setattr(image_sbom, "MAX_SBOM_BYTES", len(SBOM))
    assert hash_of(image) == EXPECTED


def test_a_layer_that_inflates_past_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # 8 MiB of zeros gzip to ~8 kB: the cap is on what comes out of gzip, not what goes in.
    monkeypatch.setattr(image_sbom, "MAX_TAR_BYTES", 1024 * 1024)
    bomb = image_of([Step(SBOM_COPY, {"app/zeros": bytes(8 * 1024 * 1024), SBOM_MEMBER: SBOM})])
    assert len(bomb.blobs[bomb.manifest["layers"][0]["digest"]]) < 64 * 1024
    with pytest.raises(SbomError, match=r"over 1048576 bytes uncompressed"):
        hash_of(bomb)


def test_a_compressed_blob_over_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_sbom, "MAX_BLOB_BYTES", 100)
    with pytest.raises(SbomError, match=r"^layer sha256:\w+: \d+ bytes, over the 100 byte cap$"):
        hash_of(sbom_image(SBOM))


def test_a_layer_not_matching_its_diff_id_is_refused() -> None:
    image = sbom_image(SBOM)
    config_digest = image.manifest["config"]["digest"]
    config = json.loads(image.blobs.pop(config_digest))
    config["rootfs"]["diff_ids"][2] = sha256(b"another tar")
    blob = json.dumps(config).encode()
    image.blobs[sha256(blob)] = blob
    image.manifest["config"]["digest"] = sha256(blob)
    with pytest.raises(SbomError, match=r"does not match diff_id " + sha256(b"another tar")):
        hash_of(image)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\x28\xb5\x2f\xfd" + bytes(20), "zstd-compressed layers are not supported"),
        (gzipped(b"not a tar at all"), "not a readable tar"),
        (gzipped(tar_of({"app/": b""}))[:-12], "not a readable tar"),
    ],
)
def test_unreadable_layers_are_one_error_naming_the_layer(blob: bytes, message: str) -> None:
    with pytest.raises(SbomError, match=rf"^layer sha256:x: .*{message}"):
        image_sbom.file_sha256(blob, "sha256:x")


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"layers": []}, "manifest config: no sha256 `digest` (got None)"),
        ({"manifests": "no"}, "image index: no `manifests` array"),
    ],
)
def test_malformed_manifests_are_one_line(manifest: dict[str, object], message: str) -> None:
    with pytest.raises(SbomError) as caught:
        image_sbom_sha256(manifest, lambda d: b"", lambda d: b"", "linux/amd64")
    assert str(caught.value) == message
