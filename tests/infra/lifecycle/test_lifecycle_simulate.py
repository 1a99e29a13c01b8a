"""The simulator on hand-built cases, starting with the issue's worked example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.lifecycle import Image, LifecyclePolicyError, simulate
from infra.settings import DEFAULT_LIFECYCLE_RULES

from .helpers import NOW, image, rule

DAY = timedelta(days=1)

WORKED_POLICY = {
    "rules": [
        rule(1, patterns=["v*"], number=1),
        rule(2, patterns=["sha-*"], number=2),
        rule(3, "untagged", count_type="sinceImagePushed", number=1),
    ]
}
WORKED_IMAGES = [
    image("sha256:i1", ("v1.0.0", "sha-a"), 30 * DAY, size=3 * 1024**3),
    image("sha256:i2", ("v1.1.0", "sha-b"), 20 * DAY, size=1024**3),
    image("sha256:i3", ("sha-c",), 10 * DAY, size=1024**3),
    image("sha256:i4", ("sha-d",), 5 * DAY, size=1024**3),
    image("sha256:i5", (), 3 * DAY, size=512 * 1024**2),
    image("sha256:i6", (), timedelta(hours=12), size=1024**3),
]


def acted(preview: Any) -> list[tuple[str, str, int]]:
    return [(r.image.digest, r.action, r.rule_priority) for r in preview.results]


def test_worked_example() -> None:
    preview = simulate(WORKED_POLICY, WORKED_IMAGES, NOW)
    assert acted(preview) == [("sha256:i1", "EXPIRE", 1), ("sha256:i5", "EXPIRE", 3)]


def test_worked_example_output_shape() -> None:
    output = simulate(WORKED_POLICY, WORKED_IMAGES, NOW).to_dict(price_per_gb=0.10)
    assert output["previewResults"][0] == {
        "imageDigest": "sha256:i1",
        "imageTags": ["v1.0.0", "sha-a"],
        "imagePushedAt": "2026-10-29T00:00:00Z",
        "action": {"type": "EXPIRE"},
        "appliedRulePriority": 1,
    }
    assert output["previewResults"][1]["imageTags"] == []
    assert output["summary"] == {
        "expiringImageTotalCount": 2,
        "transitioningImageTotalCount": 0,
        "retainedImageCount": 4,
        "retainedBytes": 4 * 1024**3,
        "expiringBytes": 3 * 1024**3 + 512 * 1024**2,
        "estimatedMonthlyStorageUsd": 0.4,
    }


def test_lower_rule_cannot_break_the_count_a_higher_rule_keeps() -> None:
    # p2 alone would expire i1 and i2; p1 matched both, so they are off limits to p2.
    only_p2 = {"rules": [WORKED_POLICY["rules"][1]]}
    assert {d for d, _, _ in acted(simulate(only_p2, WORKED_IMAGES, NOW))} == {
        "sha256:i1",
        "sha256:i2",
    }


def test_tag_list_entries_are_anded() -> None:
    policy = {"rules": [rule(1, prefixes=["prod", "dev"], count_type="sinceImagePushed")]}
    images = [
        image("sha256:both", ("prod-1", "dev-1"), 9 * DAY),
        image("sha256:prod", ("prod-2",), 9 * DAY),
    ]
    assert acted(simulate(policy, images, NOW)) == [("sha256:both", "EXPIRE", 1)]


def test_seed_prefix_list_never_matches_a_normal_image() -> None:
    policy = {"rules": [rule(1, prefixes=["prod", "dev", "staging", "latest"], number=1)]}
    images = [
        image(f"sha256:{n}", (tag,), n * DAY)
        for n, tag in enumerate(["prod", "dev", "staging", "latest"], start=1)
    ]
    assert simulate(policy, images, NOW).results == ()


@pytest.mark.parametrize(
    ("pattern", "tag", "hit"),
    [
        ("v*", "v1.0", True),
        ("v*", "V1.0", False),
        ("*-rc", "v2-rc", True),
        ("*-rc", "v2-rc1", False),
        ("v*.*", "v10", False),
        ("latest", "latest", True),
        ("latest", "latest2", False),
        ("a.c", "abc", False),
    ],
)
def test_pattern_matches_whole_tag_case_sensitively(pattern: str, tag: str, hit: bool) -> None:
    policy = {"rules": [rule(1, patterns=[pattern], count_type="sinceImagePushed")]}
    preview = simulate(policy, [image("sha256:x", (tag,), 2 * DAY)], NOW)
    assert bool(preview.results) is hit


def test_since_pushed_is_strictly_more_than_n_days() -> None:
    policy = {"rules": [rule(1, "untagged", count_type="sinceImagePushed", number=2)]}
    images = [
        image("sha256:exact", (), 2 * DAY),
        image("sha256:older", (), 2 * DAY + timedelta(seconds=1)),
    ]
    assert acted(simulate(policy, images, NOW)) == [("sha256:older", "EXPIRE", 1)]


def test_since_pulled_uses_last_pull_or_push() -> None:
    policy = {
        "rules": [
            rule(
                1,
                "any",
                count_type="sinceImagePulled",
                number=30,
                action="transition",
                target="archive",
            )
        ]
    }
    images = [
        image("sha256:pulled-recently", ("a",), 90 * DAY, pulled_ago=3 * DAY),
        image("sha256:pulled-long-ago", ("b",), 90 * DAY, pulled_ago=40 * DAY),
        image("sha256:never-pulled-old", (), 31 * DAY),
        image("sha256:never-pulled-new", (), 29 * DAY),
    ]
    preview = simulate(policy, images, NOW)
    assert {d for d, _, _ in acted(preview)} == {
        "sha256:pulled-long-ago",
        "sha256:never-pulled-old",
    }
    summary = preview.to_dict()["summary"]
    assert summary["transitioningImageTotalCount"] == 2
    assert summary["retainedImageCount"] == 4


def test_storage_classes_are_separate() -> None:
    policy = {
        "rules": [
            rule(1, "untagged", count_type="sinceImagePushed", number=1),
            rule(2, "any", count_type="sinceImageTransitioned", number=90, storage="archive"),
        ]
    }
    images = [
        image("sha256:archived-old", ("v1",), 400 * DAY, storage="archive", archived_ago=100 * DAY),
        image("sha256:archived-new", (), 400 * DAY, storage="archive", archived_ago=10 * DAY),
        image("sha256:standard-untagged", (), 5 * DAY),
    ]
    assert acted(simulate(policy, images, NOW)) == [
        ("sha256:standard-untagged", "EXPIRE", 1),
        ("sha256:archived-old", "EXPIRE", 2),
    ]


def test_count_ties_are_broken_by_digest() -> None:
    policy = {"rules": [rule(1, prefixes=["v"], number=1)]}
    images = [image("sha256:b", ("v1",), DAY), image("sha256:a", ("v2",), DAY)]
    assert acted(simulate(policy, images, NOW)) == [("sha256:b", "EXPIRE", 1)]


def test_default_rules_keep_newest_of_each_family() -> None:
    images = [
        image(f"sha256:v{n:02d}", (f"v1.{n}.0", f"sha-{n:02d}"), n * DAY) for n in range(1, 41)
    ]
    images += [image(f"sha256:u{n}", (), n * DAY) for n in range(3)]
    preview = simulate({"rules": list(DEFAULT_LIFECYCLE_RULES)}, images, NOW)
    kept = {i.digest for i in preview.retained}
    assert kept == {f"sha256:v{n:02d}" for n in range(1, 11)} | {"sha256:u0", "sha256:u1"}


def test_invalid_policy_is_refused() -> None:
    with pytest.raises(LifecyclePolicyError):
        simulate({"rules": []}, WORKED_IMAGES, NOW)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now: must be timezone-aware"):
        simulate(WORKED_POLICY, WORKED_IMAGES, datetime(2026, 11, 28))


def test_duplicate_digests_are_refused() -> None:
    twice = [WORKED_IMAGES[0], WORKED_IMAGES[0]]
    with pytest.raises(ValueError, match="imageDigest values must be unique"):
        simulate(WORKED_POLICY, twice, NOW)


def test_non_utc_timestamps_compare_by_instant() -> None:
    plus8 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC).astimezone()
    img = Image("sha256:x", (), plus8)
    policy = {"rules": [rule(1, "untagged", count_type="sinceImagePushed", number=1)]}
    assert simulate(policy, [img], NOW + timedelta(hours=9)).results != ()
    assert simulate(policy, [img], NOW + timedelta(hours=7)).results == ()
