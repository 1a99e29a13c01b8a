"""Parsing `aws ecr describe-images` output."""

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
    "registryId": "842676018087",
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
    )


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
    ],
)
def test_bad_documents_name_the_field(document: Any, expected: str) -> None:
    with pytest.raises(ImagesError) as caught:
        parse_describe_images(document)
    assert str(caught.value).startswith(expected)
