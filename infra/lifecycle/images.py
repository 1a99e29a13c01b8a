"""Typed images, parsed from `aws ecr describe-images --output json`.

Timestamps may be ISO-8601 strings (the CLI's default) or epoch seconds (the CLI with
`cli_timestamp_format = none`). A naive ISO timestamp is read as UTC. `imageStatus` ARCHIVED
or ACTIVATING puts an image in the archive storage class: until a restore finishes, the image
is still billed and selected as archived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ARCHIVED_STATUSES = frozenset({"ARCHIVED", "ACTIVATING"})


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


def parse_timestamp(value: object, field: str) -> datetime:
    """An aware UTC datetime from ISO-8601 text or epoch seconds; ValueError names `field`."""
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
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
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
    return Image(
        digest=digest,
        tags=_tags(detail.get("imageTags", []), f"{where}.imageTags"),
        pushed_at=parse_timestamp(detail["imagePushedAt"], f"{where}.imagePushedAt"),
        size_bytes=_size(detail.get("imageSizeInBytes", 0), f"{where}.imageSizeInBytes"),
        last_pulled_at=_optional_time(detail, "lastRecordedPullTime", where),
        storage_class="archive" if status in ARCHIVED_STATUSES else "standard",
        archived_at=_optional_time(detail, "lastArchivedAt", where),
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


def _reject_duplicate_digests(images: Sequence[Image]) -> None:
    seen: dict[str, int] = {}
    for index, image in enumerate(images):
        if image.digest in seen:
            raise ImagesError(
                f"imageDetails[{index}].imageDigest: duplicates imageDetails[{seen[image.digest]}]"
            )
        seen[image.digest] = index
