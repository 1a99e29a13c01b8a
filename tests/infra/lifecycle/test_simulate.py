"""`infra.lifecycle.simulate` on hand-built cases, starting with a worked example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from infra.config import DEFAULT_LIFECYCLE_RULES
from infra.lifecycle import Image

from .support import DAY, NOW, acted, archive_unpulled, image, preview_of, rule

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


def test_worked_example() -> None:
    preview = preview_of(WORKED_POLICY, WORKED_IMAGES)
    assert acted(preview) == [("sha256:i1", "EXPIRE", 1), ("sha256:i5", "EXPIRE", 3)]


def test_worked_example_output_shape() -> None:
    output = preview_of(WORKED_POLICY, WORKED_IMAGES).to_dict(price_per_gb=0.10)
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
        "undeterminedImageCount": 0,
        "retainedImageCount": 4,
        "retainedBytes": 4 * 1024**3,
        "retainedStandardBytes": 4 * 1024**3,
        "retainedArchiveBytes": 0,
        "expiringBytes": 3 * 1024**3 + 512 * 1024**2,
        "estimatedMonthlyStorageUsd": 4 * 2**30 / 2**30 * 0.10,
    }


def test_storage_estimate_is_not_rounded() -> None:
    # 1 byte at $0.10 per GB-month, a GB being 2**30 bytes: far below any rounding step.
    preview = preview_of(WORKED_POLICY, [image("sha256:one", ("v1",), DAY, size=1)])
    estimate = preview.to_dict(price_per_gb=0.10)["summary"]["estimatedMonthlyStorageUsd"]
    assert estimate == 1 / 2**30 * 0.10
    assert estimate > 0
    odd = image("sha256:odd", ("v1",), DAY, size=123_456_789)
    summary = preview_of(WORKED_POLICY, [odd]).to_dict(price_per_gb=0.37)["summary"]
    assert summary["estimatedMonthlyStorageUsd"] == 123_456_789 / 2**30 * 0.37


def test_lower_rule_cannot_break_the_count_a_higher_rule_keeps() -> None:
    # p2 alone would expire i1 and i2; p1 matched both, so they are off limits to p2.
    only_p2 = {"rules": [WORKED_POLICY["rules"][1]]}
    assert {d for d, _, _ in acted(preview_of(only_p2, WORKED_IMAGES))} == {
        "sha256:i1",
        "sha256:i2",
    }


def test_tag_list_entries_are_anded() -> None:
    policy = {"rules": [rule(1, prefixes=["prod", "dev"], count_type="sinceImagePushed")]}
    images = [
        image("sha256:both", ("prod-1", "dev-1"), 9 * DAY),
        image("sha256:prod", ("prod-2",), 9 * DAY),
    ]
    assert acted(preview_of(policy, images)) == [("sha256:both", "EXPIRE", 1)]


def test_seed_prefix_list_never_matches_a_normal_image() -> None:
    policy = {"rules": [rule(1, prefixes=["prod", "dev", "staging", "latest"], number=1)]}
    images = [
        image(f"sha256:{n}", (tag,), n * DAY)
        for n, tag in enumerate(["prod", "dev", "staging", "latest"], start=1)
    ]
    assert preview_of(policy, images).results == ()


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
    preview = preview_of(policy, [image("sha256:x", (tag,), 2 * DAY)])
    assert bool(preview.results) is hit


def test_since_pushed_is_strictly_more_than_n_days() -> None:
    policy = {"rules": [rule(1, "untagged", count_type="sinceImagePushed", number=2)]}
    images = [
        image("sha256:exact", (), 2 * DAY),
        image("sha256:older", (), 2 * DAY + timedelta(seconds=1)),
    ]
    assert acted(preview_of(policy, images)) == [("sha256:older", "EXPIRE", 1)]


def test_since_pulled_uses_last_pull_or_push() -> None:
    policy = {"rules": [archive_unpulled(1)]}
    images = [
        image("sha256:pulled-recently", ("a",), 90 * DAY, pulled_ago=3 * DAY),
        image("sha256:pulled-long-ago", ("b",), 90 * DAY, pulled_ago=40 * DAY),
        image("sha256:never-pulled-old", (), 31 * DAY),
        image("sha256:never-pulled-new", (), 29 * DAY),
    ]
    preview = preview_of(policy, images)
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
    assert acted(preview_of(policy, images)) == [
        ("sha256:standard-untagged", "EXPIRE", 1),
        ("sha256:archived-old", "EXPIRE", 2),
    ]


def test_one_any_rule_per_storage_class() -> None:
    # AWS accepts an `any` rule per storage class: archive after 30 days without a pull, then
    # delete 180 days after archiving.
    policy = {
        "rules": [
            archive_unpulled(1, storage="standard"),
            rule(2, "any", count_type="sinceImageTransitioned", number=180, storage="archive"),
        ]
    }
    images = [
        image("sha256:cold", ("v1",), 100 * DAY, size=5, pulled_ago=40 * DAY),
        image("sha256:warm", (), 100 * DAY, size=7, pulled_ago=2 * DAY),
        image(
            "sha256:gone", ("v0",), 400 * DAY, size=11, storage="archive", archived_ago=200 * DAY
        ),
        image("sha256:kept", (), 400 * DAY, size=13, storage="archive", archived_ago=100 * DAY),
    ]
    preview = preview_of(policy, images)
    assert acted(preview) == [("sha256:cold", "TRANSITION", 1), ("sha256:gone", "EXPIRE", 2)]
    summary = preview.to_dict()["summary"]
    assert (summary["transitioningImageTotalCount"], summary["expiringImageTotalCount"]) == (1, 1)
    assert summary["retainedBytes"] == 5 + 7 + 13


@pytest.mark.parametrize(
    "count_type", ["sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned"]
)
def test_huge_since_count_selects_nothing(count_type: str) -> None:
    # 10**9 days is beyond what a timedelta holds; the rule must simply select nothing.
    storage = "archive" if count_type == "sinceImageTransitioned" else None
    # sinceImagePulled can only archive, so that rule transitions.
    moves = count_type == "sinceImagePulled"
    huge = rule(
        1,
        "any",
        count_type=count_type,
        number=10**9,
        storage=storage,
        action="transition" if moves else "expire",
        target="archive" if moves else None,
    )
    policy = {"rules": [huge]}
    oldest = NOW - datetime(1, 1, 1, tzinfo=UTC)  # pushed (and archived) in year 1
    where = storage or "standard"
    images = [
        image("sha256:ancient", (), oldest, storage=where, archived_ago=oldest, pulled_ago=oldest),
        image("sha256:recent", ("v1",), DAY, storage=where, archived_ago=DAY),
    ]
    assert preview_of(policy, images).results == ()


def test_count_ties_are_broken_by_digest() -> None:
    policy = {"rules": [rule(1, prefixes=["v"], number=1)]}
    images = [image("sha256:b", ("v1",), DAY), image("sha256:a", ("v2",), DAY)]
    assert acted(preview_of(policy, images)) == [("sha256:b", "EXPIRE", 1)]


def test_default_rules_keep_newest_of_each_family() -> None:
    images = [
        image(f"sha256:v{n:02d}", (f"v1.{n}.0", f"sha-{n:02d}"), n * DAY) for n in range(1, 41)
    ]
    images += [image(f"sha256:u{n}", (), n * DAY) for n in range(3)]
    preview = preview_of({"rules": list(DEFAULT_LIFECYCLE_RULES)}, images)
    kept = {i.digest for i in preview.retained}
    assert kept == {f"sha256:v{n:02d}" for n in range(1, 11)} | {"sha256:u0", "sha256:u1"}


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now: must be timezone-aware"):
        preview_of(WORKED_POLICY, WORKED_IMAGES, datetime(2026, 11, 28))


def test_duplicate_digests_are_refused() -> None:
    twice = [WORKED_IMAGES[0], WORKED_IMAGES[0]]
    with pytest.raises(ValueError, match="imageDigest values must be unique"):
        preview_of(WORKED_POLICY, twice)


def test_non_utc_timestamps_compare_by_instant() -> None:
    # A fixed +08:00 offset (Singapore), not the host's zone: on a UTC machine astimezone()
    # would be UTC and the case would test nothing.
    plus8 = datetime(2026, 11, 27, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    assert plus8 == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    img = Image("sha256:x", (), plus8)
    policy = {"rules": [rule(1, "untagged", count_type="sinceImagePushed", number=1)]}
    assert preview_of(policy, [img], NOW + timedelta(hours=9)).results != ()
    assert preview_of(policy, [img], NOW + timedelta(hours=7)).results == ()
