"""Offline lifecycle-policy preview with ECR's semantics.

1. Rules apply in ascending rulePriority.
2. A rule matches images in its storage class (absent means standard): `tagged` needs, for every
   list entry, some tag matching it; `untagged` needs no tags; `any` matches all.
3. Its candidates are all images it matches, including ones higher rules matched.
   imageCountMoreThan N selects all but the N newest by imagePushedAt (ties broken by digest,
   so the result never depends on input order); since* N days selects images whose reference
   time is more than N days before `now` (last pull or push for sinceImagePulled, archive time
   or push for sinceImageTransitioned).
4. A selected image is acted on only if no higher-priority rule matched it.

The summary's estimatedMonthlyStorageUsd is retained bytes / 2**30 * the price per GB-month,
unrounded: AWS bills storage in binary gigabytes (GiB), which its price lists call "GB".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from infra.lifecycle.images import Image
from infra.lifecycle.model import Rule, tag_matches

# ECR's standard storage price in ap-southeast-1, USD per GB-month.
DEFAULT_PRICE_PER_GB = 0.10
BYTES_PER_GB = 2**30  # AWS storage billing counts binary gigabytes.
MICROSECOND = timedelta(microseconds=1)
MICROSECONDS_PER_DAY = 24 * 60 * 60 * 10**6
ACTIONS = {"expire": "EXPIRE", "transition": "TRANSITION"}


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
class Preview:
    """What a policy would do to a set of images at one moment."""

    results: tuple[PreviewResult, ...]
    images: tuple[Image, ...]

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

    def to_dict(self, price_per_gb: float = DEFAULT_PRICE_PER_GB) -> dict[str, Any]:
        """The GetLifecyclePolicyPreview-shaped result the CLI prints.

        The estimate prices every retained byte, archived or not, at `price_per_gb`: an upper
        bound, since the archive class is cheaper.
        """
        retained_bytes = sum(image.size_bytes for image in self.retained)
        expiring_bytes = sum(r.image.size_bytes for r in self.results if r.action == "EXPIRE")
        return {
            "previewResults": [result.to_dict() for result in self.results],
            "summary": {
                "expiringImageTotalCount": self.count("EXPIRE"),
                "transitioningImageTotalCount": self.count("TRANSITION"),
                "retainedImageCount": len(self.retained),
                "retainedBytes": retained_bytes,
                "expiringBytes": expiring_bytes,
                "estimatedMonthlyStorageUsd": retained_bytes / BYTES_PER_GB * price_per_gb,
            },
        }


def simulate(rules: Sequence[Rule], images: Iterable[Image], now: datetime) -> Preview:
    """Preview `rules` (`analyse(document).rules`) on `images` at `now` (timezone-aware).

    Raises ValueError for a naive `now` or duplicate image digests.
    """
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware (e.g. 2026-11-28T00:00:00Z)")
    pool = tuple(sorted(images, key=lambda image: image.digest))
    if len({image.digest for image in pool}) != len(pool):
        raise ValueError("images: imageDigest values must be unique")
    claimed: set[str] = set()
    results: list[PreviewResult] = []
    for rule in sorted(rules, key=lambda rule: rule.priority):
        candidates = [image for image in pool if matches(rule, image)]
        for image in select(rule, candidates, now):
            if image.digest not in claimed:
                results.append(PreviewResult(image, ACTIONS[rule.action], rule.priority))
        claimed.update(image.digest for image in candidates)
    results.sort(key=lambda r: (r.rule_priority, r.image.pushed_at, r.image.digest))
    return Preview(tuple(results), pool)


def matches(rule: Rule, image: Image) -> bool:
    if image.storage_class != rule.storage_class:
        return False
    if rule.tag_status == "any":
        return True
    if rule.tag_status == "untagged":
        return not image.tags
    kind = rule.tag_list_kind
    assert kind is not None
    return bool(image.tags) and all(
        any(tag_matches(kind, entry, tag) for tag in image.tags) for entry in rule.tag_list
    )


def newest_first(images: Iterable[Image]) -> list[Image]:
    return sorted(images, key=lambda image: (-image.pushed_at.timestamp(), image.digest))


def select(rule: Rule, candidates: Sequence[Image], now: datetime) -> list[Image]:
    """The candidates the rule's count condition picks, before the higher-rule exclusion."""
    if rule.count_type == "imageCountMoreThan":
        return newest_first(candidates)[rule.count_number :]
    # Compared as whole microseconds (exact integers): countNumber may exceed what a timedelta
    # can hold (999,999,999 days), and such a rule simply selects nothing.
    limit = rule.count_number * MICROSECONDS_PER_DAY
    return [
        image for image in candidates if (now - reference_time(rule, image)) // MICROSECOND > limit
    ]


def reference_time(rule: Rule, image: Image) -> datetime:
    if rule.count_type == "sinceImagePulled":
        return image.last_pulled_at or image.pushed_at
    if rule.count_type == "sinceImageTransitioned":
        return image.archived_at or image.pushed_at
    return image.pushed_at


def format_time(moment: datetime) -> str:
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def format_table(preview: Preview, price_per_gb: float = DEFAULT_PRICE_PER_GB) -> str:
    """A human-readable rendering of `Preview.to_dict`."""
    data = preview.to_dict(price_per_gb)
    rows = [("PRIORITY", "ACTION", "PUSHED", "DIGEST", "TAGS")]
    for result in data["previewResults"]:
        rows.append(
            (
                str(result["appliedRulePriority"]),
                result["action"]["type"],
                result["imagePushedAt"],
                result["imageDigest"][:19],
                ",".join(result["imageTags"]) or "<untagged>",
            )
        )
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines += [f"{key}: {value}" for key, value in data["summary"].items()]
    return "\n".join(lines) + "\n"
