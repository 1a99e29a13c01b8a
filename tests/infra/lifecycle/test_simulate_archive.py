"""`infra.lifecycle.simulate` on archived and restored images, one test per AWS statement.

Sources (Amazon ECR User Guide): "Archiving an image", "Restoring an image" / "Archiving an image
in Amazon ECR", "How lifecycle policies work".
"""

from __future__ import annotations

from datetime import timedelta

from infra.lifecycle import parse_batch_get_image, parse_describe_images

from .support import (
    DAY,
    SIGNATURE,
    acted,
    archive_unpulled,
    image,
    manifest_entry,
    preview_of,
    rule,
)

ARCHIVE_EXPIRY = {
    "rules": [rule(1, "any", count_type="sinceImageTransitioned", number=90, storage="archive")]
}


def test_nothing_in_archive_under_90_days_is_expired() -> None:
    """AWS, "Archiving an image": "You cannot configure lifecycle policies that delete images
    that have been in archive for less than 90 days." A 90-day rule, run on images archived 45,
    90 and 91 days ago, expires only the last: "more than 90 days" is strict."""
    images = [
        image("sha256:a45", ("v1",), 400 * DAY, storage="archive", archived_ago=45 * DAY),
        image("sha256:a90", ("v2",), 400 * DAY, storage="archive", archived_ago=90 * DAY),
        image("sha256:a91", ("v3",), 400 * DAY, storage="archive", archived_ago=91 * DAY),
    ]
    assert acted(preview_of(ARCHIVE_EXPIRY, images)) == [("sha256:a91", "EXPIRE", 1)]


def test_archived_image_without_archive_time_is_undetermined() -> None:
    # sinceImageTransitioned counts from lastArchivedAt; without it the push time would be a
    # guess (and could delete an image archived last week).
    images = [image("sha256:no-time", (), 400 * DAY, storage="archive")]
    preview = preview_of(ARCHIVE_EXPIRY, images)
    assert preview.results == ()
    [item] = preview.to_dict()["undetermined"]
    assert item["imageDigest"] == "sha256:no-time"
    assert item["wouldBe"] == {"action": {"type": "EXPIRE"}, "appliedRulePriority": 1}
    assert "no lastArchivedAt" in item["reason"]


def test_restored_image_not_pulled_since_counts_from_the_restore() -> None:
    """AWS (a reading of "How lifecycle policies work"; the verbatim sentence was not
    retrieved): for an image archived and restored but not pulled since, sinceImagePulled
    counts from the restore (last_activated_at)."""
    policy = {"rules": [archive_unpulled(1, days=30)]}
    images = [
        # Pushed and last pulled long ago, restored 2 days ago: stays in standard.
        image("sha256:restored", ("v1",), 300 * DAY, pulled_ago=200 * DAY, restored_ago=2 * DAY),
        # Restored 40 days ago and not pulled since: archived again.
        image("sha256:stale", ("v2",), 300 * DAY, pulled_ago=200 * DAY, restored_ago=40 * DAY),
        # Restored 40 days ago but pulled 3 days ago: the pull counts.
        image("sha256:used", ("v3",), 300 * DAY, pulled_ago=3 * DAY, restored_ago=40 * DAY),
    ]
    assert acted(preview_of(policy, images)) == [("sha256:stale", "TRANSITION", 1)]


def test_restored_image_is_ordered_by_its_restore_time() -> None:
    """AWS, "Archiving an image in Amazon ECR": "Restored images behave like newly pushed
    images": ordering uses last_activated_at instead of the push time."""
    policy = {"rules": [rule(1, patterns=["v*"], number=1)]}
    images = [
        image("sha256:old-restored", ("v1",), 300 * DAY, restored_ago=timedelta(hours=1)),
        image("sha256:newer-push", ("v2",), 10 * DAY),
    ]
    # Newest by restore time is the old push: the recent push is the one past the count.
    assert acted(preview_of(policy, images)) == [("sha256:newer-push", "EXPIRE", 1)]


def test_transitioned_images_stay_and_are_priced_as_archive() -> None:
    policy = {"rules": [archive_unpulled(1, days=30)]}
    images = [
        image("sha256:cold", ("v1",), 100 * DAY, size=3 * 2**30, pulled_ago=40 * DAY),
        image("sha256:warm", ("v2",), 100 * DAY, size=2**30, pulled_ago=1 * DAY),
    ]
    summary = preview_of(policy, images).to_dict(0.10, 0.07)["summary"]
    assert (summary["retainedStandardBytes"], summary["retainedArchiveBytes"]) == (2**30, 3 * 2**30)
    assert summary["estimatedMonthlyStorageUsd"] == 1 * 0.10 + 3 * 0.07


def test_a_restore_in_progress_is_still_archived() -> None:
    # imageStatus ACTIVATING: until the restore finishes the image is billed and selected as
    # archived (AWS: "You can expect ECR to restore the image within 20 minutes").
    [restoring] = parse_describe_images(
        {
            "imageDetails": [
                {
                    "imageDigest": "sha256:r",
                    "imagePushedAt": "2026-01-01T00:00:00Z",
                    "imageStatus": "ACTIVATING",
                    "lastArchivedAt": "2026-02-01T00:00:00Z",
                }
            ]
        }
    )
    assert restoring.storage_class == "archive"


def test_archived_image_without_archive_time_matched_by_two_rules_is_undetermined_once() -> None:
    # Both rules select archived v* images; the first decides, so the image is listed once,
    # by rule 1, in the preview, its JSON and its fates.
    policy = {
        "rules": [
            rule(
                1,
                patterns=["v*"],
                count_type="sinceImageTransitioned",
                number=90,
                storage="archive",
            ),
            rule(2, "any", count_type="sinceImageTransitioned", number=180, storage="archive"),
        ]
    }
    images = [image("sha256:no-time", ("v1",), 400 * DAY, storage="archive")]
    preview = preview_of(policy, images)
    assert [(u.would_be.image.digest, u.would_be.rule_priority) for u in preview.undetermined] == [
        ("sha256:no-time", 1)
    ]
    assert preview.to_dict()["summary"]["undeterminedImageCount"] == 1
    assert [(f.image.digest, f.kind, f.rule_priority) for f in preview.fates()] == [
        ("sha256:no-time", "UNDETERMINED", 1)
    ]


def test_a_referrer_expiring_with_its_subject_is_not_also_undetermined() -> None:
    # The signature has no lastArchivedAt, but its subject expires and takes it along: that is
    # certain, so it is listed as EXPIRE and nowhere else.
    signature = image("sha256:sig", (), 300 * DAY, storage="archive", artifact_type=SIGNATURE)
    subject = image("sha256:subject", ("v1",), 300 * DAY, storage="archive", archived_ago=200 * DAY)
    relations = parse_batch_get_image(
        [
            (
                "sig.json",
                {
                    "images": [
                        manifest_entry("sha256:sig", {"subject": {"digest": "sha256:subject"}})
                    ]
                },
            )
        ]
    )
    policy = {
        "rules": [rule(1, "any", count_type="sinceImageTransitioned", number=90, storage="archive")]
    }
    preview = preview_of(policy, [signature, subject], relations=relations)
    assert acted(preview) == [("sha256:sig", "EXPIRE", 1), ("sha256:subject", "EXPIRE", 1)]
    assert preview.undetermined == ()
