"""Properties of `infra.lifecycle.simulate` over random valid policies and image sets.

Expected values come from `reference.py`, a naive evaluator written from AWS's text that shares
no code with the simulator, so flipping an age comparison or the newest-first order in
`simulate.py` fails here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from infra.lifecycle import Image, Preview, Relations, analyse, simulate

from .reference import reference_actions, reference_deciders
from .strategies import image_sets, policies
from .support import INDEX, NOW, SIGNATURE, image

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, database=None)


def run(policy: dict[str, Any], images: list[Image], relations: Relations | None = None) -> Preview:
    analysis = analyse(policy)
    assume(analysis.ok)
    return simulate(analysis.rules, images, NOW, relations)


def acted(preview: Preview) -> set[tuple[str, str, int]]:
    return {(r.image.digest, r.action, r.rule_priority) for r in preview.results}


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_simulator_agrees_with_the_naive_reference(
    policy: dict[str, Any], images: list[Image]
) -> None:
    preview = run(policy, images)
    assert preview.undetermined == ()  # plain images, every archive time known
    assert acted(preview) == reference_actions(policy, images, NOW)


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_no_image_is_acted_on_twice(policy: dict[str, Any], images: list[Image]) -> None:
    preview = run(policy, images)
    digests = [r.image.digest for r in preview.results]
    digests += [u.would_be.image.digest for u in preview.undetermined]
    assert len(digests) == len(set(digests))


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_every_image_has_one_fate_decided_by_the_first_rule_matching_it(
    policy: dict[str, Any], images: list[Image]
) -> None:
    fates = run(policy, images).fates()
    assert sorted(fate.image.digest for fate in fates) == sorted(i.digest for i in images)
    # The acting rule is always the first that matched (a later one may not act); a kept
    # image names that first rule, or none.
    deciders = reference_deciders(policy, images)
    assert {fate.image.digest: fate.rule_priority for fate in fates} == deciders
    acted_on = {digest for digest, _, _ in reference_actions(policy, images, NOW)}
    assert {f.image.digest for f in fates if f.kind != "KEPT"} == acted_on


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_nothing_archived_less_than_90_days_is_expired(
    policy: dict[str, Any], images: list[Image]
) -> None:
    # AWS: "You cannot configure lifecycle policies that delete images that have been in archive
    # for less than 90 days."
    for result in run(policy, images).results:
        if result.action == "EXPIRE" and result.image.storage_class == "archive":
            assert result.image.archived_at is not None
            assert NOW - result.image.archived_at > timedelta(days=90)


@PROPERTY_SETTINGS
@given(policies(), image_sets(), st.randoms(use_true_random=False))
def test_result_is_independent_of_input_order(
    policy: dict[str, Any], images: list[Image], shuffler: Any
) -> None:
    expected = run(policy, images).to_dict()
    rules, shuffled = list(policy["rules"]), list(images)
    shuffler.shuffle(rules)
    shuffler.shuffle(shuffled)
    assert run({"rules": rules}, shuffled).to_dict() == expected


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_summary_accounts_for_every_image(policy: dict[str, Any], images: list[Image]) -> None:
    summary = run(policy, images).to_dict()["summary"]
    assert summary["expiringImageTotalCount"] + summary["retainedImageCount"] == len(images)
    assert summary["retainedBytes"] + summary["expiringBytes"] == sum(i.size_bytes for i in images)
    assert summary["retainedBytes"] == (
        summary["retainedStandardBytes"] + summary["retainedArchiveBytes"]
    )


@st.composite
def indexed_repositories(draw: st.DrawFn) -> tuple[list[Image], Relations]:
    """Random images plus indexes over random subsets of them and signatures of some of them,
    every manifest given."""
    images = draw(image_sets())
    children: dict[str, frozenset[str]] = {}
    for number in range(draw(st.integers(1, 3))):
        kids = draw(st.lists(st.sampled_from(images), unique=True)) if images else []
        digest = f"sha256:index{number}"
        hours = draw(st.integers(0, 24 * 400))
        tags = tuple(draw(st.lists(st.sampled_from(["v1.0", "sha-a1", "latest"]), max_size=1)))
        images.append(image(digest, tags, timedelta(hours=hours), manifest_type=INDEX))
        children[digest] = frozenset(kid.digest for kid in kids)
    subjects: dict[str, str] = {}
    for number, subject in enumerate(draw(st.lists(st.sampled_from(images), max_size=3))):
        digest = f"sha256:sig{number}"
        images.append(
            image(
                digest, (), timedelta(hours=draw(st.integers(0, 24 * 400))), artifact_type=SIGNATURE
            )
        )
        subjects[digest] = subject.digest
    read = frozenset(i.digest for i in images)
    return images, Relations(children=children, subjects=subjects, read=read)


@PROPERTY_SETTINGS
@given(policies(), indexed_repositories())
def test_an_image_an_index_references_is_never_acted_on_alone(
    policy: dict[str, Any], repository: tuple[list[Image], Relations]
) -> None:
    # AWS: "If an image is referenced by a manifest list, it cannot be expired or archived
    # without the manifest list being deleted or archived first."
    images, relations = repository
    preview = run(policy, images, relations)
    assert preview.undetermined == ()  # every manifest was given
    acted_on = {r.image.digest for r in preview.results}
    for index, kids in relations.children.items():
        if kids & acted_on:
            assert index in acted_on


@PROPERTY_SETTINGS
@given(policies(), indexed_repositories())
def test_a_referrer_goes_only_with_its_subject(
    policy: dict[str, Any], repository: tuple[list[Image], Relations]
) -> None:
    images, relations = repository
    preview = run(policy, images, relations)
    by_digest = {r.image.digest: r for r in preview.results}
    for referrer, subject in relations.subjects.items():
        if referrer in by_digest:
            assert subject in by_digest
            assert by_digest[subject].action == by_digest[referrer].action == "EXPIRE"
            assert by_digest[subject].rule_priority == by_digest[referrer].rule_priority


@PROPERTY_SETTINGS
@given(policies(), indexed_repositories(), st.booleans())
def test_each_image_is_listed_once_with_or_without_manifests(
    policy: dict[str, Any], repository: tuple[list[Image], Relations], give_manifests: bool
) -> None:
    # Without the manifests, index children and signatures become undetermined; either way no
    # image is both acted on and undetermined, nor listed twice in either.
    images, relations = repository
    preview = run(policy, images, relations if give_manifests else None)
    digests = [r.image.digest for r in preview.results]
    digests += [u.would_be.image.digest for u in preview.undetermined]
    assert len(digests) == len(set(digests))
    assert len(preview.fates()) == len(images)
