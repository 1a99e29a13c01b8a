"""What a simulation decides: the actions (GetLifecyclePolicyPreview-shaped), the undetermined
ones, the fate of every image with the rule that decides it, and the monthly storage estimate.

The estimate is retained bytes / 2**30 (AWS bills GB-months in binary GB, which its price lists
call "GB") times the price per GB-month of the storage class each image is in afterwards,
unrounded: transitioned images at the archive price, the rest where they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infra.lifecycle.images import Image
from infra.lifecycle.model import Rule

# USD per GB-month in ap-southeast-1 (Singapore), from the Amazon ECR pricing page
# (https://aws.amazon.com/ecr/pricing/): standard storage $0.10; archive storage $0.10 for the
# first 150 TB a month (cheaper only beyond that). An estimate: check the page for your region.
DEFAULT_PRICE_PER_GB = 0.10
DEFAULT_ARCHIVE_PRICE_PER_GB = 0.10
PRICE_SOURCE = "Amazon ECR pricing page (https://aws.amazon.com/ecr/pricing/), ap-southeast-1"
BYTES_PER_GB = 2**30
# An image's fate, as the table and the page name it.
EXPIRE, TRANSITION, UNDETERMINED, KEPT = "EXPIRE", "TRANSITION", "UNDETERMINED", "KEPT"
FATES = (EXPIRE, TRANSITION, UNDETERMINED, KEPT)


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
class Fate:
    """What happens to one image, and which rule decides it.

    `rule_priority` is the acting rule for EXPIRE and TRANSITION, the proposing rule for
    UNDETERMINED, and for KEPT the first rule that matched the image (no later rule may act on
    it), or None when no rule matches it at all."""

    image: Image
    kind: str
    rule_priority: int | None
    reason: str | None = None
    """Why an UNDETERMINED image is undetermined."""
    would_be: str | None = None
    """The action an UNDETERMINED image would get if its relations allowed it."""


@dataclass(frozen=True)
class Preview:
    """What a policy would do to a set of images at one moment.

    Each image is in at most one of `results` and `undetermined`."""

    results: tuple[PreviewResult, ...]
    images: tuple[Image, ...]
    undetermined: tuple[Undetermined, ...] = ()
    first_match: Mapping[str, int] = field(default_factory=dict)
    """Digest -> rulePriority of the first rule whose selection matched the image."""
    rules: tuple[Rule, ...] = ()

    def count(self, action: str) -> int:
        return sum(1 for result in self.results if result.action == action)

    @property
    def expiring_digests(self) -> frozenset[str]:
        return frozenset(r.image.digest for r in self.results if r.action == EXPIRE)

    @property
    def retained(self) -> tuple[Image, ...]:
        """Images that still exist afterwards; transitioned images are kept, in archive."""
        gone = self.expiring_digests
        return tuple(image for image in self.images if image.digest not in gone)

    def fates(self) -> tuple[Fate, ...]:
        """Every image's fate, newest push first (ties by digest)."""
        acted = {r.image.digest: r for r in self.results}
        unknown = {u.would_be.image.digest: u for u in self.undetermined}
        fates = []
        for image in sorted(self.images, key=lambda i: (-i.pushed_at.timestamp(), i.digest)):
            result = acted.get(image.digest)
            pending = unknown.get(image.digest)
            if result is not None:
                fates.append(Fate(image, result.action, result.rule_priority))
            elif pending is not None:
                would_be = pending.would_be
                fates.append(
                    Fate(
                        image, UNDETERMINED, would_be.rule_priority, pending.reason, would_be.action
                    )
                )
            else:
                fates.append(Fate(image, KEPT, self.first_match.get(image.digest)))
        return tuple(fates)

    def retained_bytes_by_class(self) -> dict[str, int]:
        moving = {r.image.digest for r in self.results if r.action == TRANSITION}
        by_class = {"standard": 0, "archive": 0}
        for image in self.retained:
            storage = "archive" if image.digest in moving else image.storage_class
            by_class[storage] += image.size_bytes
        return by_class

    def monthly_storage_usd(
        self,
        price_per_gb: float = DEFAULT_PRICE_PER_GB,
        archive_price_per_gb: float = DEFAULT_ARCHIVE_PRICE_PER_GB,
    ) -> float:
        """Unrounded: rounding is for display."""
        by_class = self.retained_bytes_by_class()
        return (
            by_class["standard"] / BYTES_PER_GB * price_per_gb
            + by_class["archive"] / BYTES_PER_GB * archive_price_per_gb
        )

    def to_dict(
        self,
        price_per_gb: float = DEFAULT_PRICE_PER_GB,
        archive_price_per_gb: float = DEFAULT_ARCHIVE_PRICE_PER_GB,
    ) -> dict[str, Any]:
        """The GetLifecyclePolicyPreview-shaped result the CLI prints, plus `undetermined`."""
        by_class = self.retained_bytes_by_class()
        expiring_bytes = sum(r.image.size_bytes for r in self.results if r.action == EXPIRE)
        return {
            "previewResults": [result.to_dict() for result in self.results],
            "undetermined": [item.to_dict() for item in self.undetermined],
            "summary": {
                "expiringImageTotalCount": self.count(EXPIRE),
                "transitioningImageTotalCount": self.count(TRANSITION),
                "undeterminedImageCount": len(self.undetermined),
                "retainedImageCount": len(self.retained),
                "retainedBytes": by_class["standard"] + by_class["archive"],
                "retainedStandardBytes": by_class["standard"],
                "retainedArchiveBytes": by_class["archive"],
                "expiringBytes": expiring_bytes,
                "estimatedMonthlyStorageUsd": self.monthly_storage_usd(
                    price_per_gb, archive_price_per_gb
                ),
            },
        }


def format_time(moment: datetime) -> str:
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
