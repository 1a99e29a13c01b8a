"""Offline lifecycle-policy preview with ECR's semantics.

1. Rules apply in ascending rulePriority.
2. A rule matches images in its storage class (absent means standard): `tagged` needs, for every
   list entry, some tag matching it; `untagged` needs no tags; `any` matches all.
3. Its candidates are all images it matches, including ones higher rules matched.
   imageCountMoreThan N selects all but the N newest, newest by the last restore
   (`lastActivatedAt`) or else the push (ties broken by digest, so the result never depends on
   input order); since* N days selects images whose reference time is more than N days before
   `now`: sinceImagePushed the push; sinceImagePulled the later of the last pull and the last
   restore, or else the push; sinceImageTransitioned the archive time (an archived image without
   `lastArchivedAt` is undetermined, never guessed).
4. A selected image is acted on only if no higher-priority rule matched it; the first rule
   that matched an image decides its fate, acting on it or keeping it.
5. Then the relations describe-images does not show (`infra.lifecycle.relations`): index
   children and referrers, or, where they are unknown, the `undetermined` list: each image at
   most once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from infra.lifecycle.images import Image
from infra.lifecycle.manifests import Relations
from infra.lifecycle.model import Rule, tag_matches
from infra.lifecycle.outcome import Preview, PreviewResult, Undetermined
from infra.lifecycle.relations import apply_relations

MICROSECOND = timedelta(microseconds=1)
MICROSECONDS_PER_DAY = 24 * 60 * 60 * 10**6
ACTIONS = {"expire": "EXPIRE", "transition": "TRANSITION"}
NO_ARCHIVE_TIME = (
    "archived, but describe-images gave no lastArchivedAt, so its time in archive (which "
    "sinceImageTransitioned counts) is unknown"
)


def simulate(
    rules: Sequence[Rule],
    images: Iterable[Image],
    now: datetime,
    relations: Relations | None = None,
) -> Preview:
    """Preview `rules` (`analyse(document).rules`) on `images` at `now` (timezone-aware).

    `relations` (from `--manifests`) resolves which images indexes reference and which image each
    referrer refers to. Raises ValueError for a naive `now` or duplicate image digests.
    """
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware (e.g. 2026-11-28T00:00:00Z)")
    pool = tuple(sorted(images, key=lambda image: image.digest))
    if len({image.digest for image in pool}) != len(pool):
        raise ValueError("images: imageDigest values must be unique")
    first_match: dict[str, int] = {}
    proposed: dict[str, PreviewResult] = {}
    unknown: list[Undetermined] = []
    ordered = tuple(sorted(rules, key=lambda rule: rule.priority))
    for rule in ordered:
        candidates = [image for image in pool if matches(rule, image)]
        for image in select(rule, candidates, now):
            if image.digest not in first_match:
                proposed[image.digest] = PreviewResult(image, ACTIONS[rule.action], rule.priority)
        if rule.count_type == "sinceImageTransitioned":
            unknown += [
                Undetermined(
                    PreviewResult(image, ACTIONS[rule.action], rule.priority), NO_ARCHIVE_TIME
                )
                for image in candidates
                if image.archived_at is None and image.digest not in first_match
            ]
        for image in candidates:
            first_match.setdefault(image.digest, rule.priority)
    results, undetermined = apply_relations(pool, proposed, relations or Relations())
    results.sort(key=lambda r: (r.rule_priority, r.image.pushed_at, r.image.digest))
    return Preview(
        tuple(results), pool, _one_per_image(undetermined + unknown, results), first_match, ordered
    )


def _one_per_image(
    undetermined: Iterable[Undetermined], results: Iterable[PreviewResult]
) -> tuple[Undetermined, ...]:
    """Each image at most once, by its first rule; a certain action (a referrer going with its
    expiring subject) takes precedence over an undetermined one."""
    decided = {result.image.digest for result in results}
    chosen: dict[str, Undetermined] = {}
    for item in sorted(
        undetermined, key=lambda u: (u.would_be.rule_priority, u.would_be.image.digest)
    ):
        digest = item.would_be.image.digest
        if digest not in decided:
            chosen.setdefault(digest, item)
    return tuple(chosen.values())


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
    """AWS orders by the last restore when there is one: a restored image counts as new."""
    return sorted(
        images,
        key=lambda image: (-(image.activated_at or image.pushed_at).timestamp(), image.digest),
    )


def select(rule: Rule, candidates: Sequence[Image], now: datetime) -> list[Image]:
    """The candidates the rule's count condition picks, before the higher-rule exclusion."""
    if rule.count_type == "imageCountMoreThan":
        return newest_first(candidates)[rule.count_number :]
    # Compared as whole microseconds (exact integers): countNumber may exceed what a timedelta
    # can hold (999,999,999 days), and such a rule simply selects nothing.
    limit = rule.count_number * MICROSECONDS_PER_DAY
    chosen = []
    for image in candidates:
        since = reference_time(rule, image)
        if since is not None and (now - since) // MICROSECOND > limit:
            chosen.append(image)
    return chosen


def reference_time(rule: Rule, image: Image) -> datetime | None:
    """The moment a since* rule counts from; None when describe-images does not tell."""
    if rule.count_type == "sinceImagePulled":
        # Restored but not pulled since: AWS counts from the restore.
        seen = [t for t in (image.last_pulled_at, image.activated_at) if t is not None]
        return max(seen) if seen else image.pushed_at
    if rule.count_type == "sinceImageTransitioned":
        return image.archived_at
    return image.pushed_at
