"""`infra.lifecycle.images`: parsing `aws ecr describe-images` output (field names as in the ECR
API reference, DescribeImages / ImageDetail)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from infra.lifecycle import Image, ImagesError, parse_describe_images

FULL = {
    "imageDigest": "sha256:aa",
    "imageTags": ["v1", "sha-1"],
    "imagePushedAt": "2026-11-01T10:00:00+08:00",
    "imageSizeInBytes": 1234,
    "lastRecordedPullTime": 1793577600,
    "imageStatus": "ARCHIVED",
    "lastArchivedAt": "2026-11-20T00:00:00",
    "lastActivatedAt": 1793577601,
    "imageManifestMediaType": "application/vnd.oci.image.index.v1+json",
    "artifactMediaType": "application/vnd.oci.image.config.v1+json",
    "registryId": "842676018087",
    "repositoryName": "mlops/retail-api",
    "imageScanStatus": {"status": "COMPLETE"},
}


def test_full_detail() -> None:
    (img,) = parse_describe_images({"imageDetails": [FULL], "nextToken": "x"})
    assert img == Image(
        digest="sha256:aa",
        tags=("v1", "sha-1"),
        pushed_at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
        size_bytes=1234,
        last_pulled_at=datetime.fromtimestamp(1793577600, tz=UTC),
        storage_class="archive",
        archived_at=datetime(2026, 11, 20, tzinfo=UTC),
        activated_at=datetime.fromtimestamp(1793577601, tz=UTC),
        manifest_media_type="application/vnd.oci.image.index.v1+json",
        artifact_media_type="application/vnd.oci.image.config.v1+json",
        repository_name="mlops/retail-api",
        registry_id="842676018087",
    )
    assert (img.is_index, img.is_artifact) == (True, False)


def test_minimal_detail_defaults() -> None:
    (img,) = parse_describe_images(
        {"imageDetails": [{"imageDigest": "sha256:b", "imagePushedAt": 0.5}]}
    )
    assert img.tags == ()
    assert img.size_bytes == 0
    assert img.storage_class == "standard"
    assert img.pushed_at == datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], 'images: must be an object with an "imageDetails" list'),
        ({"images": []}, 'images: must be an object with an "imageDetails" list'),
        ({"imageDetails": {}}, "imageDetails: must be a list, got dict"),
        ({"imageDetails": ["x"]}, "imageDetails[0]: must be an object, got str"),
        ({"imageDetails": [{**FULL, "imageDigest": ""}]}, "imageDetails[0].imageDigest: required"),
        ({"imageDetails": [{"imageDigest": "d"}]}, "imageDetails[0].imagePushedAt: required"),
        (
            {"imageDetails": [{**FULL, "imagePushedAt": "yesterday"}]},
            "imageDetails[0].imagePushedAt: not an ISO-8601 timestamp: 'yesterday'",
        ),
        (
            {"imageDetails": [{**FULL, "imagePushedAt": True}]},
            "imageDetails[0].imagePushedAt: must be an ISO-8601 timestamp or epoch seconds",
        ),
        (
            {"imageDetails": [{**FULL, "imagePushedAt": 1e30}]},
            "imageDetails[0].imagePushedAt: epoch seconds out of range",
        ),
        (
            {"imageDetails": [{**FULL, "imageTags": "v1"}]},
            "imageDetails[0].imageTags: must be a list of strings",
        ),
        (
            {"imageDetails": [{**FULL, "imageSizeInBytes": -1}]},
            "imageDetails[0].imageSizeInBytes: must be a non-negative integer, got -1",
        ),
        (
            {"imageDetails": [{**FULL, "lastRecordedPullTime": []}]},
            "imageDetails[0].lastRecordedPullTime: must be an ISO-8601 timestamp or epoch seconds",
        ),
        ({"imageDetails": [FULL, FULL]}, "imageDetails[1].imageDigest: duplicates imageDetails[0]"),
        (
            {"imageDetails": [{**FULL, "imageStatus": "DELETED"}]},
            "imageDetails[0].imageStatus: must be one of ACTIVE, ARCHIVED, ACTIVATING, "
            "got 'DELETED'",
        ),
        (
            {"imageDetails": [{**FULL, "lastActivatedAt": "soon"}]},
            "imageDetails[0].lastActivatedAt: not an ISO-8601 timestamp: 'soon'",
        ),
        (
            {"imageDetails": [{**FULL, "imagePushedAt": "9999-12-31T23:59:59-01:00"}]},
            "imageDetails[0].imagePushedAt: timestamp out of range in UTC: "
            "'9999-12-31T23:59:59-01:00'",
        ),
        (
            {"imageDetails": [{**FULL, "artifactMediaType": 7}]},
            "imageDetails[0].artifactMediaType: must be a string, got int",
        ),
    ],
)
def test_bad_documents_name_the_field(document: Any, expected: str) -> None:
    with pytest.raises(ImagesError) as caught:
        parse_describe_images(document)
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize(
    ("manifest_type", "artifact_type", "index", "artifact"),
    [
        ("application/vnd.docker.distribution.manifest.list.v2+json", None, True, False),
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json",
            False,
            False,
        ),
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
            False,
            False,
        ),
        ("application/vnd.oci.image.manifest.v1+json", "application/spdx+json", False, True),
    ],
)
def test_media_types_tell_indexes_and_artifacts(
    manifest_type: str, artifact_type: str | None, index: bool, artifact: bool
) -> None:
    detail = {
        "imageDigest": "sha256:m",
        "imagePushedAt": 0,
        "imageManifestMediaType": manifest_type,
    }
    if artifact_type is not None:
        detail["artifactMediaType"] = artifact_type
    (img,) = parse_describe_images({"imageDetails": [detail]})
    assert (img.is_index, img.is_artifact) == (index, artifact)
