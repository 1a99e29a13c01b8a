"""The dev stack under mocks with imagePlatforms [linux/amd64, linux/arm64]: one build per
platform, one index under the content tag, imageRef on the index, every child gated."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from infra.multiarch.index import build_index
from infra.oci import DOCKER_MANIFEST_LIST
from tests.infra.conftest import ACCOUNT, REGION, engine_config
from tests.infra.multiarch.support import IMAGE_TYPE, INDEX_TYPE, index_aware
from tests.infra.pulumi_harness import ProgramRun, program_run, resolve

DEV = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlops-dev/retail-api"
TWO = ["linux/amd64", "linux/arm64"]


def two_platforms() -> dict[str, str]:
    return {**engine_config("dev"), "retail-registry:imagePlatforms": json.dumps(TWO)}


def exported(run: ProgramRun) -> dict[str, Any]:
    return {name: resolve(pulumi.Output.from_input(v)) for name, v in run.exports.items()}


def scanned(run: ProgramRun) -> list[str]:
    return [
        r["imageId"]["imageDigest"]
        for call, r in run.ecr.requests
        if call == "DescribeImageScanFindings"
    ]


def test_two_platforms_build_twice_publish_one_index_and_pin_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = ProgramRun()
    with index_aware(monkeypatch) as known, program_run("dev", two_platforms(), run=run):
        values = exported(run)
    tag = str(values["imageTag"])
    assert re.fullmatch(r"sha-[0-9a-f]{12}", tag)
    # Registered concurrently (each waits on the repository URL): compared by name.
    builds = sorted(run.of_type(IMAGE_TYPE), key=lambda b: b.name)
    assert [(b.name, b.inputs["build"]["platform"], b.inputs["imageName"]) for b in builds] == [
        ("retail-api-amd64-image", "linux/amd64", f"{DEV}:{tag}-amd64"),
        ("retail-api-arm64-image", "linux/arm64", f"{DEV}:{tag}-arm64"),
    ]
    # Both children carry the index's content tag in their revision label.
    assert {b.inputs["build"]["args"]["REVISION"] for b in builds} == {tag}
    index = run.one(INDEX_TYPE)
    amd64, arm64 = known.child_digests["linux/amd64"], known.child_digests["linux/arm64"]
    assert index.name == "retail-api-index"
    assert index.inputs["destination"] == f"{DEV}:{tag}"
    assert index.inputs["children"] == [
        {"platform": "linux/amd64", "digest": amd64},
        {"platform": "linux/arm64", "digest": arm64},
    ]
    assert index.secret_paths == [("credentials",)]
    assert index.parent == run.one("retail:infra:RetailRegistry").urn
    # imageRef is the index, never one of its children.
    held = run.ecr.tags("mlops-dev/retail-api")
    index_digest = held[tag]
    assert index_digest not in (amd64, arm64)
    assert values["imageDigest"] == index_digest
    assert values["imageRef"] == f"{DEV}@{index_digest}"
    assert values["imagePlatformDigests"] == {"linux/amd64": amd64, "linux/arm64": arm64}
    assert held[f"{tag}-amd64"] == amd64 and held[f"{tag}-arm64"] == arm64
    # ECR scans images, not an index: each child is judged, the index is not.
    assert sorted(set(scanned(run))) == sorted([amd64, arm64])
    assert values["imageScan"]["passed"] is True


def test_the_published_index_lists_both_children_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    run = ProgramRun()
    with index_aware(monkeypatch) as known, program_run("dev", two_platforms(), run=run):
        values = exported(run)
    document = json.loads(known.by_digest[str(values["imageDigest"])])
    assert document["mediaType"] == DOCKER_MANIFEST_LIST
    assert [(m["platform"], m["digest"]) for m in document["manifests"]] == [
        ({"architecture": "amd64", "os": "linux"}, known.child_digests["linux/amd64"]),
        ({"architecture": "arm64", "os": "linux"}, known.child_digests["linux/arm64"]),
    ]


def test_per_platform_sbom_hashes_come_from_each_child(monkeypatch: pytest.MonkeyPatch) -> None:
    run = ProgramRun()
    with index_aware(monkeypatch), program_run("dev", two_platforms(), run=run):
        values = exported(run)
        sboms = resolve(run.namespace["registry"].image_platform_sbom_sha256)
    assert set(sboms) == {"linux/amd64", "linux/arm64"}
    # The same SBOM file in both children here, so the same hash; the default is amd64's.
    assert sboms["linux/amd64"] == values["imageSbomSha256"] == sboms["linux/arm64"]
    read = [
        r["imageIds"][0]["imageDigest"] for call, r in run.ecr.requests if call == "BatchGetImage"
    ]
    assert str(values["imageDigest"]) in read


def test_a_second_run_finds_the_index_and_builds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    first = ProgramRun()
    with index_aware(monkeypatch) as known, program_run("dev", two_platforms(), run=first):
        before = exported(first)
        second = ProgramRun(ecr=first.ecr)
        with program_run("dev", two_platforms(), run=second):
            after = exported(second)
    assert second.of_type(IMAGE_TYPE) == [] and second.of_type(INDEX_TYPE) == []
    assert after["imageRef"] == before["imageRef"]
    # Read back from the index ECR holds, not from this run's builds (there were none).
    assert after["imagePlatformDigests"] == {
        "linux/amd64": known.child_digests["linux/amd64"],
        "linux/arm64": known.child_digests["linux/arm64"],
    }


def test_the_platform_set_is_part_of_the_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    tags = []
    for config in (engine_config("dev"), two_platforms()):
        run = ProgramRun()
        with index_aware(monkeypatch), program_run("dev", config, run=run):
            tags.append(exported(run)["imageTag"])
    assert tags[0] != tags[1]


def test_the_default_builds_one_image_and_no_index(monkeypatch: pytest.MonkeyPatch) -> None:
    run = ProgramRun()
    with index_aware(monkeypatch), program_run("dev", engine_config("dev"), run=run):
        values = exported(run)
    # Registrations reach the engine concurrently: the set is the contract, not the order.
    assert sorted((r.type, r.name) for r in run.resources) == [
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "retail-api-lifecycle"),
        ("aws:ecr/repository:Repository", "retail-api-repo"),
        ("docker:index/image:Image", "retail-api-image"),
        ("retail:infra:RetailRegistry", "retail-api"),
    ]
    image = run.one(IMAGE_TYPE)
    assert image.inputs["build"]["platform"] == "linux/amd64"
    assert image.inputs["imageName"] == f"{DEV}:{values['imageTag']}"
    assert values["imagePlatformDigests"] == {"linux/amd64": values["imageDigest"]}


def test_the_index_bytes_are_canonical() -> None:
    from infra.multiarch.index import Child
    from infra.oci import DOCKER_MANIFEST

    children = [
        Child("linux/amd64", "sha256:" + "a" * 64, 1234, DOCKER_MANIFEST),
        Child("linux/arm64/v8", "sha256:" + "b" * 64, 987, DOCKER_MANIFEST),
    ]
    index = build_index(children)
    assert index.data == (
        b'{"manifests":[{"digest":"sha256:' + b"a" * 64 + b'","mediaType":'
        b'"application/vnd.docker.distribution.manifest.v2+json","platform":{"architecture":'
        b'"amd64","os":"linux"},"size":1234},{"digest":"sha256:' + b"b" * 64 + b'","mediaType":'
        b'"application/vnd.docker.distribution.manifest.v2+json","platform":{"architecture":'
        b'"arm64","os":"linux","variant":"v8"},"size":987}],"mediaType":'
        b'"application/vnd.docker.distribution.manifest.list.v2+json","schemaVersion":2}'
    )
    assert build_index(children).digest == index.digest
