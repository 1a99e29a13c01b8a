"""`infra.lifecycle.relations`: index children and referrers, known from manifests or reported as
undetermined when describe-images alone cannot tell.

AWS, "How lifecycle policies work": "If an image is referenced by a manifest list, it cannot be
expired or archived without the manifest list being deleted or archived first." Referrers are
removed together with their subject (a paraphrase; the verbatim sentence was not retrieved).
"""

from __future__ import annotations

from datetime import timedelta

from infra.lifecycle import Relations, parse_batch_get_image

from .support import DAY, INDEX, SIGNATURE, acted, image, manifest_entry, preview_of, rule

HOUR = timedelta(hours=1)
UNTAGGED_AFTER_A_DAY = {"rules": [rule(1, "untagged", count_type="sinceImagePushed", number=1)]}
# A multi-platform push: two untagged platform images, then the tagged index naming them.
AMD64 = image("sha256:amd64", (), 10 * DAY)
ARM64 = image("sha256:arm64", (), 10 * DAY)
RELEASE = image("sha256:index", ("v1.0.0",), 10 * DAY - HOUR, manifest_type=INDEX)
# An untagged build pushed after the index cannot be one of its children.
LATER = image("sha256:later", (), 5 * DAY)
MULTI_PLATFORM = [AMD64, ARM64, RELEASE, LATER]


def index_manifests(*kids: str) -> Relations:
    manifest = {"manifests": [{"digest": kid} for kid in kids]}
    return parse_batch_get_image(
        [("index.json", {"images": [manifest_entry(RELEASE.digest, manifest)]})]
    )


def test_children_of_an_unread_index_are_undetermined_not_expired() -> None:
    preview = preview_of(UNTAGGED_AFTER_A_DAY, MULTI_PLATFORM)
    assert acted(preview) == [("sha256:later", "EXPIRE", 1)]
    undetermined = preview.to_dict()["undetermined"]
    assert [item["imageDigest"] for item in undetermined] == ["sha256:amd64", "sha256:arm64"]
    for item in undetermined:
        assert item["wouldBe"] == {"action": {"type": "EXPIRE"}, "appliedRulePriority": 1}
        assert item["reason"].startswith("untagged and pushed no later than index sha256:index")
        assert "pass --manifests" in item["reason"]


def test_children_of_a_retained_index_are_kept() -> None:
    preview = preview_of(
        UNTAGGED_AFTER_A_DAY,
        MULTI_PLATFORM,
        relations=index_manifests("sha256:amd64", "sha256:arm64"),
    )
    assert acted(preview) == [("sha256:later", "EXPIRE", 1)]
    assert preview.undetermined == ()
    assert {i.digest for i in preview.retained} == {"sha256:amd64", "sha256:arm64", "sha256:index"}


def test_an_untagged_image_the_index_does_not_name_is_expired() -> None:
    preview = preview_of(
        UNTAGGED_AFTER_A_DAY, MULTI_PLATFORM, relations=index_manifests("sha256:amd64")
    )
    assert acted(preview) == [("sha256:arm64", "EXPIRE", 1), ("sha256:later", "EXPIRE", 1)]


def test_children_go_when_their_index_goes() -> None:
    policy = {
        "rules": [
            rule(1, patterns=["v*"], count_type="sinceImagePushed", number=7),
            rule(2, "untagged", count_type="sinceImagePushed", number=1),
        ]
    }
    preview = preview_of(
        policy, MULTI_PLATFORM, relations=index_manifests("sha256:amd64", "sha256:arm64")
    )
    assert sorted(acted(preview)) == [
        ("sha256:amd64", "EXPIRE", 2),
        ("sha256:arm64", "EXPIRE", 2),
        ("sha256:index", "EXPIRE", 1),
        ("sha256:later", "EXPIRE", 2),
    ]


SUBJECT = image("sha256:subject", ("sha-1",), 40 * DAY)
SIGNED = image("sha256:sig", (), 40 * DAY - HOUR, artifact_type=SIGNATURE)


def referrer_manifests() -> Relations:
    manifest = {"subject": {"digest": SUBJECT.digest}, "layers": []}
    return parse_batch_get_image(
        [("sig.json", {"images": [manifest_entry(SIGNED.digest, manifest)]})]
    )


def test_an_unread_artifact_is_undetermined() -> None:
    preview = preview_of(UNTAGGED_AFTER_A_DAY, [SUBJECT, SIGNED])
    assert preview.results == ()
    [item] = preview.to_dict()["undetermined"]
    assert item["imageDigest"] == "sha256:sig"
    assert item["reason"].startswith(f"artifactMediaType {SIGNATURE} is not an image")


def test_a_referrer_stays_while_its_subject_stays() -> None:
    preview = preview_of(UNTAGGED_AFTER_A_DAY, [SUBJECT, SIGNED], relations=referrer_manifests())
    assert (preview.results, preview.undetermined) == ((), ())


def test_a_referrer_goes_with_its_subject_by_the_subject_rule() -> None:
    policy = {
        "rules": [
            rule(1, "untagged", count_type="sinceImagePushed", number=100),
            rule(2, patterns=["sha-*"], count_type="sinceImagePushed", number=30),
        ]
    }
    preview = preview_of(policy, [SUBJECT, SIGNED], relations=referrer_manifests())
    assert sorted(acted(preview)) == [("sha256:sig", "EXPIRE", 2), ("sha256:subject", "EXPIRE", 2)]


def test_a_tagged_image_is_assumed_not_to_be_a_child() -> None:
    # docker buildx pushes platform images untagged; a tagged image is taken as standalone
    # (docs/lifecycle.md lists this assumption; --manifests removes it).
    policy = {"rules": [rule(1, patterns=["sha-*"], number=1)]}
    older = image("sha256:older", ("sha-0",), 20 * DAY)
    newer = image("sha256:newer", ("sha-2",), 12 * DAY)
    preview = preview_of(policy, [older, newer, RELEASE])
    assert (acted(preview), preview.undetermined) == ([("sha256:older", "EXPIRE", 1)], ())
