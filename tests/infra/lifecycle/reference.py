"""A deliberately naive lifecycle evaluator, written from AWS's text and sharing no code with
`infra.lifecycle` (it reads the raw policy document, not the typed rules).

AWS, "How lifecycle policies work" / "Lifecycle policy properties":
- "All rules are evaluated at the same time, regardless of rule priority. After all rules are
  evaluated, they are then applied based on rule priority."
- "An image that matches the tagging requirements of a rule cannot be expired or archived by a
  rule with a lower priority."
- tagPrefixList / tagPatternList: "If you specify multiple tags, only the images with all
  specified tags are selected."
- imageCountMoreThan: images are sorted "from youngest to oldest" and "all images greater than
  the specified count" are acted on; sinceImage*: images older than countNumber days.
- "Restored images behave like newly pushed images" (ordering by the restore time), and a
  restored image not pulled since counts sinceImagePulled from the restore (a paraphrase of
  "How lifecycle policies work"; see docs/lifecycle.md, not confirmed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from infra.lifecycle import Image

SECONDS_PER_DAY = 86_400


def wildcard_match(pattern: str, text: str) -> bool:
    """`*` matches any run of characters, everything else itself, by plain recursion."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return any(wildcard_match(pattern[1:], text[cut:]) for cut in range(len(text) + 1))
    return bool(text) and text[0] == pattern[0] and wildcard_match(pattern[1:], text[1:])


def selects_tags(selection: dict[str, Any], tags: tuple[str, ...]) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return len(tags) == 0
    if len(tags) == 0:
        return False
    if "tagPrefixList" in selection:
        entries = selection["tagPrefixList"]
        return all(any(tag[: len(e)] == e for tag in tags) for e in entries)
    entries = selection["tagPatternList"]
    return all(any(wildcard_match(e, tag) for tag in tags) for e in entries)


def days_since(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    return (now - moment).total_seconds() / SECONDS_PER_DAY


def picked(selection: dict[str, Any], matched: list[Image], now: datetime) -> list[Image]:
    count_type, number = selection["countType"], selection["countNumber"]
    if count_type == "imageCountMoreThan":

        def youngest_first(i: Image) -> tuple[float, str]:
            last_new = i.activated_at if i.activated_at is not None else i.pushed_at
            return (-last_new.timestamp(), i.digest)

        return sorted(matched, key=youngest_first)[number:]
    chosen = []
    for i in matched:
        if count_type == "sinceImagePushed":
            age = days_since(i.pushed_at, now)
        elif count_type == "sinceImageTransitioned":
            age = days_since(i.archived_at, now)
        else:
            times = [t for t in [i.last_pulled_at, i.activated_at] if t is not None]
            age = days_since(max(times) if times else i.pushed_at, now)
        if age is not None and age > number:
            chosen.append(i)
    return chosen


def reference_actions(
    document: dict[str, Any], images: list[Image], now: datetime
) -> set[tuple[str, str, int]]:
    """(digest, "EXPIRE" or "TRANSITION", rulePriority) for every image some rule acts on."""
    owned: set[str] = set()
    actions: set[tuple[str, str, int]] = set()
    for raw in sorted(document["rules"], key=lambda r: r["rulePriority"]):
        selection = raw["selection"]
        storage = selection.get("storageClass", "standard")
        matched = [
            i for i in images if i.storage_class == storage and selects_tags(selection, i.tags)
        ]
        for i in picked(selection, matched, now):
            if i.digest not in owned:
                actions.add((i.digest, raw["action"]["type"].upper(), raw["rulePriority"]))
        owned.update(i.digest for i in matched)
    return actions


def reference_deciders(document: dict[str, Any], images: list[Image]) -> dict[str, int | None]:
    """Digest -> rulePriority of the first rule whose selection matches the image (None: none)."""
    decided: dict[str, int | None] = {}
    for i in images:
        decided[i.digest] = None
        for raw in sorted(document["rules"], key=lambda r: r["rulePriority"]):
            selection = raw["selection"]
            storage = selection.get("storageClass", "standard")
            if i.storage_class == storage and selects_tags(selection, i.tags):
                decided[i.digest] = raw["rulePriority"]
                break
    return decided
