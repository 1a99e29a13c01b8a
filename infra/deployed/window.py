"""Which digests carry a `deployed-<UTC time>-<12 hex>` tag, and how to move the window.

ECR lifecycle rules select images by tag only, so "what is deployed" must be a tag. One tag per
deploy, named by its time and its digest:
- the window is read back from ECR's own tags, so it survives lost state;
- the newest tag wins, so a rollback makes its target the newest deployed digest, however old
  its push;
- a tag name is never reused for another digest, and tags are only added and removed, never
  moved, so it works under IMMUTABLE tags (ECR refuses to move an immutable tag, not to delete
  it: https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html).
Pure: no Pulumi, no AWS.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from infra.lifecycle.shield import DEPLOYED_TAG_PREFIX

_STAMP = "%Y%m%dt%H%M%Sz"
_TAG = re.compile(re.escape(DEPLOYED_TAG_PREFIX) + r"(\d{8}t\d{6}z)-([0-9a-f]{12})")


@dataclass(frozen=True)
class TagChange:
    tag: str
    digest: str


@dataclass(frozen=True)
class WindowPlan:
    """What one deploy changes: at most one tag added, the tags of digests that left removed."""

    add: TagChange | None
    remove: tuple[TagChange, ...]
    window: tuple[str, ...]
    """The shielded digests after the change, newest deploy first."""
    kept_last: tuple[TagChange, ...] = ()
    """Tags left in place because they are their image's last tag: removing the last tag of an
    image deletes it (BatchDeleteImage)."""

    def lines(self) -> list[str]:
        """What the change does, one line each, for preview and `up` logs."""
        said = [f"tag {self.add.digest} {self.add.tag}"] if self.add else []
        said += [f"untag {change.digest} {change.tag}" for change in self.remove]
        said += [
            f"keep {change.digest} {change.tag} (its last tag; untagging would delete it)"
            for change in self.kept_last
        ]
        return said or ["no change"]


def deployed_tag(digest: str, now: dt.datetime) -> str:
    """`deployed-<YYYYMMDDtHHMMSSz>-<first 12 hex of the digest>` (UTC)."""
    return f"{DEPLOYED_TAG_PREFIX}{now.astimezone(dt.UTC):{_STAMP}}-{_short(digest)}"


def plan_window(
    tags_by_digest: Mapping[str, Sequence[str]], deployed: str, keep: int, now: dt.datetime
) -> WindowPlan:
    """Make `deployed` the newest deployed digest and keep `keep` more; untag the rest.

    `tags_by_digest` is every tag ECR holds, by digest. A `deployed-` tag counts only when its
    12 hex match its digest, so a tag that is not this program's is left alone."""
    stamps = _stamps(tags_by_digest)
    order = sorted(stamps, key=lambda digest: max(stamps[digest]), reverse=True)
    add = None
    if not order or order[0] != deployed:
        add = TagChange(deployed_tag(deployed, now), deployed)
        order = [deployed, *(digest for digest in order if digest != deployed)]
    window = tuple(order[: keep + 1])
    remove: list[TagChange] = []
    kept_last: list[TagChange] = []
    for digest in order:
        ours = [tag for _, tag in sorted(stamps.get(digest, []))]
        # In the window a digest keeps its newest tag (or the one added now); outside, none.
        stale = ours if digest not in window or (add and add.digest == digest) else ours[:-1]
        others = set(tags_by_digest.get(digest, ())) - set(stale)
        if add and add.digest == digest:
            others.add(add.tag)
        if stale and not others:
            kept_last.append(TagChange(stale[-1], digest))
            stale = stale[:-1]
        remove += [TagChange(tag, digest) for tag in stale]
    return WindowPlan(add, tuple(remove), window, tuple(kept_last))


def _stamps(tags_by_digest: Mapping[str, Sequence[str]]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for digest, tags in tags_by_digest.items():
        for tag in tags:
            match = _TAG.fullmatch(tag)
            if match and match.group(2) == _short(digest):
                found.setdefault(digest, []).append((match.group(1), tag))
    return found


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]
