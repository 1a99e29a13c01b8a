"""An OCI index under a tag, as a BuildKit build with provenance pushes it, on a real registry:
the gate's target is the image for the stack's platform, never the attestation beside it.

The image is really built and pushed by the engine; the attestation manifest (one small
in-toto layer) and the index over both are written through the Docker Registry HTTP API V2,
the way BuildKit lays them out: the attestation has platform `unknown/unknown` and the
annotations `vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest`
(https://docs.docker.com/build/metadata/attestations/attestation-storage/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.oci import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    ManifestError,
    image_labels,
    platform_children,
    resolve_image,
)
from testkit.engine import docker, inspect
from testkit.registry import Registry, RegistryApi, sha256

pytestmark = pytest.mark.container

NAME = "index-gate"
IMAGE_TAG = "amd64-image"
INDEX_TAG = "sha-1ndex0f0a11"
REVISION = "sha-0123456789ab"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v0.2"


@dataclass(frozen=True)
class PushedIndex:
    image_digest: str
    attestation_digest: str
    index_digest: str


def attestation_manifest(api: RegistryApi, image_digest: str) -> dict[str, Any]:
    """BuildKit's shape: an OCI manifest whose one layer is an in-toto statement about the image."""
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_PROVENANCE,
        "subject": [{"name": f"pkg:docker/{NAME}", "digest": {"sha256": image_digest[7:]}}],
        "predicate": {"builder": {"id": ""}, "buildType": "https://mobyproject.org/buildkit@v1"},
    }
    layer = json.dumps(statement).encode()
    config = json.dumps(
        {
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        }
    ).encode()
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": api.put_blob(NAME, config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": IN_TOTO,
                "digest": api.put_blob(NAME, layer),
                "size": len(layer),
                "annotations": {"in-toto.io/predicate-type": SLSA_PROVENANCE},
            }
        ],
    }


@pytest.fixture(scope="module")
def pushed_index(
    registry: Registry, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PushedIndex]:
    """A small image on the test base, pushed by the engine; then the attestation and the
    index over both, put under INDEX_TAG."""
    context = tmp_path_factory.mktemp("index-image")
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nLABEL org.opencontainers.image.revision={REVISION}\n"
    )
    ref = f"{registry.host}/{NAME}:{IMAGE_TAG}"
    docker("build", "--platform", "linux/amd64", "-t", ref, str(context), timeout=600)
    docker("push", ref, timeout=600)
    api = RegistryApi(registry)
    image_bytes, image_type, image_digest = api.manifest(NAME, IMAGE_TAG)
    attestation = attestation_manifest(api, image_digest)
    attestation_digest, attestation_size = api.put_manifest(
        NAME, sha256(json.dumps(attestation).encode()), attestation
    )
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": image_type,
                "digest": image_digest,
                "size": len(image_bytes),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": attestation_digest,
                "size": attestation_size,
                "annotations": {
                    "vnd.docker.reference.digest": image_digest,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
                "platform": {"architecture": "unknown", "os": "unknown"},
            },
        ],
    }
    index_digest, _ = api.put_manifest(NAME, INDEX_TAG, index)
    yield PushedIndex(image_digest, attestation_digest, index_digest)
    docker("rmi", ref, timeout=120)


def test_the_tag_is_served_as_the_index_written(
    registry: Registry, pushed_index: PushedIndex
) -> None:
    body, media_type, digest = RegistryApi(registry).manifest(NAME, INDEX_TAG)
    assert (media_type, digest) == (OCI_INDEX, pushed_index.index_digest)
    assert sha256(body) == pushed_index.index_digest
    entries = json.loads(body)["manifests"]
    assert [entry["digest"] for entry in entries] == [
        pushed_index.image_digest,
        pushed_index.attestation_digest,
    ]


def test_the_attestation_is_a_real_manifest_with_its_in_toto_layer(
    registry: Registry, pushed_index: PushedIndex
) -> None:
    api = RegistryApi(registry)
    body, media_type, digest = api.manifest(NAME, pushed_index.attestation_digest)
    assert (media_type, digest) == (OCI_MANIFEST, pushed_index.attestation_digest)
    [layer] = json.loads(body)["layers"]
    assert layer["mediaType"] == IN_TOTO
    statement = json.loads(api.blob(NAME, layer["digest"]))
    assert statement["subject"][0]["digest"] == {"sha256": pushed_index.image_digest[7:]}


def test_the_gate_target_is_the_amd64_image_not_the_attestation(
    registry: Registry, pushed_index: PushedIndex
) -> None:
    index = json.loads(RegistryApi(registry).manifest(NAME, INDEX_TAG)[0])
    assert platform_children(index, ["linux/amd64"]) == {"linux/amd64": pushed_index.image_digest}


def test_a_platform_the_index_lacks_is_refused_naming_what_it_lists(
    registry: Registry, pushed_index: PushedIndex
) -> None:
    index = json.loads(RegistryApi(registry).manifest(NAME, INDEX_TAG)[0])
    with pytest.raises(ManifestError) as refused:
        platform_children(index, ["linux/amd64", "linux/arm64"])
    message = str(refused.value)
    assert "linux/arm64" in message
    assert "linux/amd64, unknown/unknown" in message


def test_the_child_read_from_the_registry_is_the_built_image(
    registry: Registry, pushed_index: PushedIndex
) -> None:
    """What the SBOM reader and the held-image check read: the amd64 image and its config."""
    api = RegistryApi(registry)
    index = json.loads(api.manifest(NAME, INDEX_TAG)[0])
    image, config = resolve_image(
        index,
        lambda digest: api.manifest(NAME, digest)[0],
        lambda digest: api.blob(NAME, digest),
        "linux/amd64",
    )
    assert image["mediaType"] in (DOCKER_MANIFEST, OCI_MANIFEST)
    assert "manifests" not in image
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    assert image_labels(config)["org.opencontainers.image.revision"] == REVISION


def test_the_engine_pulls_the_same_image_through_the_index(
    registry: Registry, pushed_index: PushedIndex
) -> None:
    """An engine pulling the index's tag for linux/amd64 gets the image the gate judged."""
    built = f"{registry.host}/{NAME}:{IMAGE_TAG}"
    ref = f"{registry.host}/{NAME}:{INDEX_TAG}"
    docker("pull", "--platform", "linux/amd64", ref, timeout=300)
    try:
        pulled = inspect(ref)
    finally:
        docker("rmi", ref, timeout=120)
    assert pulled["Id"] == inspect(built)["Id"]
    assert f"{registry.host}/{NAME}@{pushed_index.index_digest}" in pulled["RepoDigests"]
