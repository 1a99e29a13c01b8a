"""infra/deployed/window.py: which digest gets a deployed-* tag, and which tags go.

The tag is `deployed-<UTC YYYYMMDDtHHMMSSz>-<12 hex of the digest>`; the newest tag orders the
window. Expected plans are written out.
"""

from __future__ import annotations

import datetime as dt

from infra.deployed.window import TagChange, deployed_tag, plan_window

A, B, C, D = ("sha256:" + c * 64 for c in "abcd")
NOW = dt.datetime(2026, 12, 2, 11, 0, tzinfo=dt.UTC)


def stamp(digest: str, day: int) -> str:
    return deployed_tag(digest, dt.datetime(2026, 11, day, 9, 0, tzinfo=dt.UTC))


def test_the_tag_names_the_time_and_the_digest() -> None:
    assert deployed_tag(A, NOW) == "deployed-20261202t110000z-aaaaaaaaaaaa"
    local = dt.datetime(2026, 12, 2, 19, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert deployed_tag(A, local) == deployed_tag(A, NOW)


def test_a_first_deploy_tags_its_digest() -> None:
    plan = plan_window({A: ["sha-a"]}, A, 3, NOW)
    assert plan.add == TagChange("deployed-20261202t110000z-aaaaaaaaaaaa", A)
    assert (plan.remove, plan.window) == ((), (A,))


def test_the_newest_deploy_again_changes_nothing() -> None:
    tags = {A: ["sha-a", stamp(A, 30)], B: ["sha-b", stamp(B, 29)]}
    plan = plan_window(tags, A, 3, NOW)
    assert (plan.add, plan.remove, plan.window) == (None, (), (A, B))
    assert plan.lines() == ["no change"]


def test_a_new_deploy_pushes_the_oldest_out_of_the_window() -> None:
    tags = {
        A: ["sha-a", stamp(A, 27)],
        B: ["sha-b", stamp(B, 28)],
        C: ["sha-c", stamp(C, 29)],
        D: ["sha-d"],
    }
    plan = plan_window(tags, D, 1, NOW)
    assert plan.add == TagChange(deployed_tag(D, NOW), D)
    assert plan.window == (D, C)
    assert plan.remove == (TagChange(stamp(B, 28), B), TagChange(stamp(A, 27), A))


def test_a_rollback_makes_its_target_the_newest_and_drops_its_old_tag() -> None:
    tags = {A: ["sha-a", stamp(A, 20)], B: ["sha-b", stamp(B, 28)], C: ["sha-c", stamp(C, 29)]}
    plan = plan_window(tags, A, 1, NOW)
    assert plan.add == TagChange(deployed_tag(A, NOW), A)
    assert plan.window == (A, C)
    assert set(plan.remove) == {TagChange(stamp(A, 20), A), TagChange(stamp(B, 28), B)}


def test_an_images_last_tag_is_never_removed() -> None:
    """Removing an image's last tag deletes the image (BatchDeleteImage)."""
    tags = {A: [stamp(A, 20)], B: ["sha-b", stamp(B, 28)]}
    plan = plan_window(tags, C, 0, NOW)
    assert plan.remove == (TagChange(stamp(B, 28), B),)
    assert plan.kept_last == (TagChange(stamp(A, 20), A),)
    assert plan.lines()[-1].startswith(f"keep {A} {stamp(A, 20)} (its last tag")


def test_tags_that_are_not_this_programs_are_left_alone() -> None:
    foreign = {A: ["sha-a", "deployed-by-hand", "deployed-20261101t090000z-bbbbbbbbbbbb"]}
    plan = plan_window(foreign, B, 0, NOW)
    assert plan.remove == ()
    assert plan.window == (B,)
