"""Hypothesis strategies for the lifecycle property tests: valid policies and image sets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from infra.lifecycle import Image

from .support import image, rule

# Small alphabets so random rules and images actually overlap.
PREFIXES = ["v", "v1", "v1.", "sha-", "sha-a", "rc", "l"]
PATTERNS = ["v*", "v1*", "*-rc", "sha-*", "sha-a*", "latest", "*", "v*.*", "*a*"]
TAGS = ["v1.0", "v1.1", "v2.0", "sha-a1", "sha-b2", "latest", "v2-rc", "rc1"]
MOTO_COUNT_TYPES = ["imageCountMoreThan", "sinceImagePushed"]


@st.composite
def rule_documents(
    draw: st.DrawFn, priority: int, *, last: bool, moto_only: bool, archived: bool
) -> dict[str, Any]:
    """One valid rule; archive and transition features unless `moto_only`.

    `last`: the rule has the highest priority of its storage class (so it may be `any`);
    `archived`: it selects the archive class."""
    statuses = ["tagged", "tagged", "untagged", "any"] if last else ["tagged", "tagged", "untagged"]
    status = draw(st.sampled_from(statuses))
    prefixes: list[str] | None = None
    patterns: list[str] | None = None
    if status == "tagged":
        by_prefix = draw(st.booleans())
        pool = PREFIXES if by_prefix else PATTERNS
        entries = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
        prefixes, patterns = (entries, None) if by_prefix else (None, entries)
    if archived:
        return rule(
            priority,
            status,
            prefixes=prefixes,
            patterns=patterns,
            count_type="sinceImageTransitioned",
            number=draw(st.integers(90, 400)),
            storage="archive",
        )
    transition = not moto_only and draw(st.integers(0, 3)) == 0
    count_types = MOTO_COUNT_TYPES + ([] if moto_only or not transition else ["sinceImagePulled"])
    count_type = draw(st.sampled_from(count_types))
    number = draw(st.integers(1, 4) if count_type == "imageCountMoreThan" else st.integers(1, 60))
    return rule(
        priority,
        status,
        prefixes=prefixes,
        patterns=patterns,
        count_type=count_type,
        number=number,
        storage=None if moto_only else draw(st.sampled_from([None, None, "standard"])),
        action="transition" if transition else "expire",
        target="archive" if transition else None,
    )


@st.composite
def policies(draw: st.DrawFn, *, moto_only: bool = False) -> dict[str, Any]:
    priorities = draw(st.lists(st.integers(1, 40), min_size=1, max_size=6, unique=True))
    archived = {p: not moto_only and draw(st.integers(0, 5)) == 0 for p in priorities}
    # The top priority of each storage class may be an "any" rule.
    tops = {max(p for p in priorities if archived[p] == kind) for kind in set(archived.values())}
    return {
        "rules": [
            draw(rule_documents(p, last=p in tops, moto_only=moto_only, archived=archived[p]))
            for p in priorities
        ]
    }


@st.composite
def image_sets(draw: st.DrawFn) -> list[Image]:
    """Standard, archived and restored images; every archived image has its archive time."""
    images = []
    for index in range(draw(st.integers(0, 14))):
        hours = draw(st.integers(0, 24 * 400))
        pulled = draw(st.none() | st.integers(0, 24 * 400))
        state = draw(st.sampled_from(["standard", "standard", "archive", "restored"]))
        archived = timedelta(days=draw(st.integers(0, 300))) if state == "archive" else None
        restored = timedelta(hours=draw(st.integers(0, hours))) if state == "restored" else None
        images.append(
            image(
                f"sha256:{index:04d}",
                tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True))),
                timedelta(hours=hours),
                size=draw(st.integers(0, 10**9)),
                pulled_ago=None if pulled is None else timedelta(hours=pulled),
                storage="archive" if state == "archive" else "standard",
                archived_ago=archived,
                restored_ago=restored,
            )
        )
    return images
