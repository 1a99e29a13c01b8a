"""Builders and hypothesis strategies shared by the lifecycle tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from infra.lifecycle import Image

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def rule(
    priority: int,
    status: str = "tagged",
    *,
    prefixes: list[str] | None = None,
    patterns: list[str] | None = None,
    count_type: str = "imageCountMoreThan",
    number: int = 1,
    unit: str | None = None,
    storage: str | None = None,
    action: str = "expire",
    target: str | None = None,
) -> dict[str, Any]:
    """A rule document; `unit` defaults to days for since* count types."""
    selection: dict[str, Any] = {"tagStatus": status}
    if prefixes is not None:
        selection["tagPrefixList"] = prefixes
    if patterns is not None:
        selection["tagPatternList"] = patterns
    if storage is not None:
        selection["storageClass"] = storage
    selection["countType"] = count_type
    if unit is not None or count_type != "imageCountMoreThan":
        selection["countUnit"] = unit or "days"
    selection["countNumber"] = number
    act: dict[str, Any] = {"type": action}
    if target is not None:
        act["targetStorageClass"] = target
    return {"rulePriority": priority, "selection": selection, "action": act}


def archive_unpulled(priority: int, days: int = 30, storage: str | None = None) -> dict[str, Any]:
    """An `any` rule that moves images nobody pulled for `days` to the archive class."""
    return rule(
        priority,
        "any",
        count_type="sinceImagePulled",
        number=days,
        action="transition",
        target="archive",
        storage=storage,
    )


def image(
    digest: str,
    tags: tuple[str, ...] = (),
    age: timedelta = timedelta(days=1),
    *,
    size: int = 0,
    pulled_ago: timedelta | None = None,
    storage: str = "standard",
    archived_ago: timedelta | None = None,
) -> Image:
    return Image(
        digest=digest,
        tags=tags,
        pushed_at=NOW - age,
        size_bytes=size,
        last_pulled_at=None if pulled_ago is None else NOW - pulled_ago,
        storage_class=storage,
        archived_at=None if archived_ago is None else NOW - archived_ago,
    )


# Small alphabets so random rules and images actually overlap.
PREFIXES = ["v", "v1", "v1.", "sha-", "sha-a", "rc", "l"]
PATTERNS = ["v*", "v1*", "*-rc", "sha-*", "sha-a*", "latest", "*", "v*.*", "*a*"]
TAGS = ["v1.0", "v1.1", "v2.0", "sha-a1", "sha-b2", "latest", "v2-rc", "rc1"]
MOTO_COUNT_TYPES = ["imageCountMoreThan", "sinceImagePushed"]
ALL_STANDARD_COUNT_TYPES = [*MOTO_COUNT_TYPES, "sinceImagePulled"]


@st.composite
def rule_documents(
    draw: st.DrawFn,
    priority: int,
    *,
    last: bool,
    moto_only: bool = False,
    archived: bool | None = None,
) -> dict[str, Any]:
    """One rule, usually valid; archive and transition features unless `moto_only`.

    `last`: the rule has the highest priority of its storage class; `archived`: it selects the
    archive class (drawn when None).
    """
    # ECR allows "any" only on the last rule of a storage class; elsewhere it would just make
    # the draw invalid.
    statuses = ["tagged", "tagged", "untagged", "any"] if last else ["tagged", "tagged", "untagged"]
    status = draw(st.sampled_from(statuses))
    prefixes: list[str] | None = None
    patterns: list[str] | None = None
    if status == "tagged":
        use_prefix = draw(st.booleans())
        pool = PREFIXES if use_prefix else PATTERNS
        entries = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
        prefixes, patterns = (entries, None) if use_prefix else (None, entries)
    count_types = MOTO_COUNT_TYPES if moto_only else ALL_STANDARD_COUNT_TYPES
    if archived is None:
        archived = not moto_only and draw(st.integers(0, 5)) == 0
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
    count_type = draw(st.sampled_from(count_types))
    number = draw(st.integers(1, 4) if count_type == "imageCountMoreThan" else st.integers(1, 60))
    transition = not moto_only and draw(st.integers(0, 3)) == 0
    storage = None if moto_only else draw(st.sampled_from([None, None, "standard"]))
    return rule(
        priority,
        status,
        prefixes=prefixes,
        patterns=patterns,
        count_type=count_type,
        number=number,
        storage=storage,
        action="transition" if transition else "expire",
        target="archive" if transition else None,
    )


@st.composite
def policies(draw: st.DrawFn, *, moto_only: bool = False) -> dict[str, Any]:
    priorities = draw(st.lists(st.integers(1, 40), min_size=1, max_size=6, unique=True))
    archived = {p: not moto_only and draw(st.integers(0, 5)) == 0 for p in priorities}
    # The top priority of each storage class may be an "any" rule.
    tops = {max(p for p in priorities if archived[p] == kind) for kind in set(archived.values())}
    rules = [
        draw(rule_documents(p, last=p in tops, moto_only=moto_only, archived=archived[p]))
        for p in priorities
    ]
    return {"rules": rules}


@st.composite
def image_sets(draw: st.DrawFn) -> list[Image]:
    count = draw(st.integers(0, 14))
    images = []
    for index in range(count):
        tags = tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True)))
        hours = draw(st.integers(0, 24 * 120))
        pulled = draw(st.none() | st.integers(0, 24 * 120))
        archived = draw(st.integers(0, 4)) == 0
        images.append(
            image(
                f"sha256:{index:04d}",
                tags,
                timedelta(hours=hours),
                size=draw(st.integers(0, 10**9)),
                pulled_ago=None if pulled is None else timedelta(hours=pulled),
                storage="archive" if archived else "standard",
                archived_ago=timedelta(days=draw(st.integers(0, 300))) if archived else None,
            )
        )
    return images
