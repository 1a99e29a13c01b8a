"""Typed images, parsed from `aws ecr describe-images --output json`.

Timestamps may be ISO-8601 strings (the CLI's default) or epoch seconds (the CLI with
`cli_timestamp_format = none`). A naive ISO timestamp is read as UTC. `imageStatus` ARCHIVED
or ACTIVATING puts an image in the archive storage class: until a restore finishes, the image
is still billed and selected as archived. `lastActivatedAt` is when the last restore finished.

describe-images does not say which images an index references or which image an artifact
refers to; it does give `imageManifestMediaType` (an index or a single manifest) and
`artifactMediaType` (an image config, or something else: a signature, SBOM, attestation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ARCHIVED_STATUSES = frozenset({"ARCHIVED", "ACTIVATING"})
IMAGE_STATUSES = ("ACTIVE", "ARCHIVED", "ACTIVATING")
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
# Config media types of runnable images; any other artifactMediaType is an artifact (a
# signature, SBOM or attestation) that may refer to another image.
IMAGE_CONFIG_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    }
)


class ImagesError(ValueError):
    """An images document that cannot be read; the message names the entry and field."""


@dataclass(frozen=True)
class Image:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
    size_bytes: int = 0
    last_pulled_at: datetime | None = None
    storage_class: str = "standard"
    archived_at: datetime | None = None
    activated_at: datetime | None = None
    """`lastActivatedAt`: when the image was last restored from archive."""
    manifest_media_type: str | None = None
    artifact_media_type: str | None = None
    repository_name: str | None = None
    registry_id: str | None = None

    @property
    def is_index(self) -> bool:
        return self.manifest_media_type in INDEX_MEDIA_TYPES

    @property
    def is_artifact(self) -> bool:
        """Not a runnable image: possibly a referrer (signature, SBOM, attestation)."""
        kind = self.artifact_media_type
        return kind is not None and kind not in IMAGE_CONFIG_MEDIA_TYPES


def parse_timestamp(value: object, field: str) -> datetime:
    """An aware UTC datetime from ISO-8601 text or epoch seconds; ImagesError names `field`."""
    if isinstance(value, bool):
        raise ImagesError(f"{field}: must be an ISO-8601 timestamp or epoch seconds, got {value}")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ImagesError(f"{field}: epoch seconds out of range: {value}") from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ImagesError(f"{field}: not an ISO-8601 timestamp: {value!r}") from exc
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ImagesError(f"{field}: timestamp out of range in UTC: {value!r}") from exc
    raise ImagesError(
        f"{field}: must be an ISO-8601 timestamp or epoch seconds, got {type(value).__name__}"
    )


def parse_describe_images(document: object) -> tuple[Image, ...]:
    """Images of a describe-images document; ImagesError on anything unreadable."""
    if not isinstance(document, Mapping) or "imageDetails" not in document:
        raise ImagesError('images: must be an object with an "imageDetails" list')
    details = document["imageDetails"]
    if not isinstance(details, list):
        raise ImagesError(f"imageDetails: must be a list, got {type(details).__name__}")
    images = tuple(_parse_detail(detail, f"imageDetails[{i}]") for i, detail in enumerate(details))
    _reject_duplicate_digests(images)
    return images


def _parse_detail(detail: object, where: str) -> Image:
    if not isinstance(detail, Mapping):
        raise ImagesError(f"{where}: must be an object, got {type(detail).__name__}")
    digest = detail.get("imageDigest")
    if not isinstance(digest, str) or not digest:
        raise ImagesError(f"{where}.imageDigest: required, a non-empty string")
    if "imagePushedAt" not in detail:
        raise ImagesError(f"{where}.imagePushedAt: required")
    status = detail.get("imageStatus", "ACTIVE")
    if status not in IMAGE_STATUSES:
        raise ImagesError(
            f"{where}.imageStatus: must be one of {', '.join(IMAGE_STATUSES)}, got {status!r}"
        )
    return Image(
        digest=digest,
        tags=_tags(detail.get("imageTags", []), f"{where}.imageTags"),
        pushed_at=parse_timestamp(detail["imagePushedAt"], f"{where}.imagePushedAt"),
        size_bytes=_size(detail.get("imageSizeInBytes", 0), f"{where}.imageSizeInBytes"),
        last_pulled_at=_optional_time(detail, "lastRecordedPullTime", where),
        storage_class="archive" if status in ARCHIVED_STATUSES else "standard",
        archived_at=_optional_time(detail, "lastArchivedAt", where),
        activated_at=_optional_time(detail, "lastActivatedAt", where),
        manifest_media_type=_optional_text(detail, "imageManifestMediaType", where),
        artifact_media_type=_optional_text(detail, "artifactMediaType", where),
        repository_name=_optional_text(detail, "repositoryName", where),
        registry_id=_optional_text(detail, "registryId", where),
    )


def _tags(value: object, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ImagesError(f"{field}: must be a list of strings")
    return tuple(value)


def _size(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImagesError(f"{field}: must be a non-negative integer, got {value!r}")
    return value


def _optional_time(detail: Mapping[str, Any], key: str, where: str) -> datetime | None:
    value = detail.get(key)
    return None if value is None else parse_timestamp(value, f"{where}.{key}")


def _optional_text(detail: Mapping[str, Any], key: str, where: str) -> str | None:
    value = detail.get(key)
    if value is not None and not isinstance(value, str):
        raise ImagesError(f"{where}.{key}: must be a string, got {type(value).__name__}")
    return value


def _reject_duplicate_digests(images: Sequence[Image]) -> None:
    seen: dict[str, int] = {}
    for index, image in enumerate(images):
        if image.digest in seen:
            raise ImagesError(
                f"imageDetails[{index}].imageDigest: duplicates imageDetails[{seen[image.digest]}]"
            )
        seen[image.digest] = index
