"""The result of a simulation and its two renderings (GetLifecyclePolicyPreview-shaped JSON, a
table), with the monthly storage estimate.

The estimate is retained bytes / 2**30 (AWS bills GB-months in binary GB, which its price lists
call "GB") times the price per GB-month of the storage class each image is in afterwards,
unrounded: transitioned images at the archive price, the rest where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra.lifecycle.images import Image

# USD per GB-month in ap-southeast-1 (Singapore), from the Amazon ECR pricing page
# (https://aws.amazon.com/ecr/pricing/): standard storage $0.10; archive storage $0.10 for the
# first 150 TB a month (cheaper only beyond that). An estimate: check the page for your region.
DEFAULT_PRICE_PER_GB = 0.10
DEFAULT_ARCHIVE_PRICE_PER_GB = 0.10
PRICE_SOURCE = "Amazon ECR pricing page (https://aws.amazon.com/ecr/pricing/), ap-southeast-1"
BYTES_PER_GB = 2**30


@dataclass(frozen=True)
class PreviewResult:
    image: Image
    action: str
    """"EXPIRE" or "TRANSITION", as ECR's preview names them."""
    rule_priority: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "imageDigest": self.image.digest,
            "imageTags": list(self.image.tags),
            "imagePushedAt": format_time(self.image.pushed_at),
            "action": {"type": self.action},
            "appliedRulePriority": self.rule_priority,
        }


@dataclass(frozen=True)
class Undetermined:
    """An action the rules propose that depends on a relation describe-images does not show."""

    would_be: PreviewResult
    reason: str

    def to_dict(self) -> dict[str, Any]:
        shown = self.would_be.to_dict()
        return {
            "imageDigest": shown.pop("imageDigest"),
            "imageTags": shown.pop("imageTags"),
            "imagePushedAt": shown.pop("imagePushedAt"),
            "wouldBe": shown,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Preview:
    """What a policy would do to a set of images at one moment."""

    results: tuple[PreviewResult, ...]
    images: tuple[Image, ...]
    undetermined: tuple[Undetermined, ...] = ()

    def count(self, action: str) -> int:
        return sum(1 for result in self.results if result.action == action)

    @property
    def expiring_digests(self) -> frozenset[str]:
        return frozenset(r.image.digest for r in self.results if r.action == "EXPIRE")

    @property
    def retained(self) -> tuple[Image, ...]:
        """Images that still exist afterwards; transitioned images are kept, in archive."""
        gone = self.expiring_digests
        return tuple(image for image in self.images if image.digest not in gone)

    def retained_bytes_by_class(self) -> dict[str, int]:
        moving = {r.image.digest for r in self.results if r.action == "TRANSITION"}
        by_class = {"standard": 0, "archive": 0}
        for image in self.retained:
            storage = "archive" if image.digest in moving else image.storage_class
            by_class[storage] += image.size_bytes
        return by_class

    def to_dict(
        self,
        price_per_gb: float = DEFAULT_PRICE_PER_GB,
        archive_price_per_gb: float = DEFAULT_ARCHIVE_PRICE_PER_GB,
    ) -> dict[str, Any]:
        """The GetLifecyclePolicyPreview-shaped result the CLI prints, plus `undetermined`."""
        by_class = self.retained_bytes_by_class()
        expiring_bytes = sum(r.image.size_bytes for r in self.results if r.action == "EXPIRE")
        estimate = (
            by_class["standard"] / BYTES_PER_GB * price_per_gb
            + by_class["archive"] / BYTES_PER_GB * archive_price_per_gb
        )
        return {
            "previewResults": [result.to_dict() for result in self.results],
            "undetermined": [item.to_dict() for item in self.undetermined],
            "summary": {
                "expiringImageTotalCount": self.count("EXPIRE"),
                "transitioningImageTotalCount": self.count("TRANSITION"),
                "undeterminedImageCount": len(self.undetermined),
                "retainedImageCount": len(self.retained),
                "retainedBytes": by_class["standard"] + by_class["archive"],
                "retainedStandardBytes": by_class["standard"],
                "retainedArchiveBytes": by_class["archive"],
                "expiringBytes": expiring_bytes,
                "estimatedMonthlyStorageUsd": estimate,
            },
        }


def format_time(moment: datetime) -> str:
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def format_table(
    preview: Preview,
    price_per_gb: float = DEFAULT_PRICE_PER_GB,
    archive_price_per_gb: float = DEFAULT_ARCHIVE_PRICE_PER_GB,
) -> str:
    """A human-readable rendering of `Preview.to_dict`."""
    data = preview.to_dict(price_per_gb, archive_price_per_gb)
    rows = [("PRIORITY", "ACTION", "PUSHED", "DIGEST", "TAGS")]
    for result in data["previewResults"]:
        rows.append(_row(result, result["action"]["type"], result["appliedRulePriority"]))
    for item in data["undetermined"]:
        would_be = item["wouldBe"]
        rows.append(
            _row(
                item, f"UNDETERMINED({would_be['action']['type']})", would_be["appliedRulePriority"]
            )
        )
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines += [
        f"undetermined {item['imageDigest'][:19]}: {item['reason']}"
        for item in data["undetermined"]
    ]
    lines += [f"{key}: {value}" for key, value in data["summary"].items()]
    return "\n".join(lines) + "\n"


def _row(shown: dict[str, Any], action: str, priority: int) -> tuple[str, str, str, str, str]:
    tags = ",".join(shown["imageTags"]) or "<untagged>"
    return (str(priority), action, shown["imagePushedAt"], shown["imageDigest"][:19], tags)
