"""Property tests of the simulator over random valid policies and image sets."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from infra.lifecycle import Image, Preview, parse_policy, simulate, validate
from infra.lifecycle.simulate import matches, newest_first, select

from .helpers import NOW, image_sets, policies

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, database=None)


def run(policy: dict[str, Any], images: list[Image]) -> Preview:
    assume(validate(policy).ok)
    return simulate(policy, images, NOW)


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_each_image_is_acted_on_at_most_once(policy: dict[str, Any], images: list[Image]) -> None:
    digests = [result.image.digest for result in run(policy, images).results]
    assert len(digests) == len(set(digests))


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_no_image_a_higher_rule_matched_is_acted_on_by_a_lower_one(
    policy: dict[str, Any], images: list[Image]
) -> None:
    preview = run(policy, images)
    rules = parse_policy(policy)
    for result in preview.results:
        higher = [r for r in rules if r.priority < result.rule_priority]
        assert not any(matches(r, result.image) for r in higher)
        applied = next(r for r in rules if r.priority == result.rule_priority)
        assert matches(applied, result.image)


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_count_rule_never_acts_on_its_n_newest_candidates(
    policy: dict[str, Any], images: list[Image]
) -> None:
    preview = run(policy, images)
    for rule in parse_policy(policy):
        if rule.count_type != "imageCountMoreThan":
            continue
        newest = newest_first(i for i in images if matches(rule, i))[: rule.count_number]
        acted = {r.image.digest for r in preview.results if r.rule_priority == rule.priority}
        assert acted.isdisjoint(i.digest for i in newest)


@PROPERTY_SETTINGS
@given(policies(), image_sets(), st.randoms(use_true_random=False))
def test_result_is_independent_of_input_order(
    policy: dict[str, Any], images: list[Image], shuffler: Any
) -> None:
    expected = run(policy, images).to_dict()
    rules, shuffled = list(policy["rules"]), list(images)
    shuffler.shuffle(rules)
    shuffler.shuffle(shuffled)
    assert simulate({"rules": rules}, shuffled, NOW).to_dict() == expected


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_summary_accounts_for_every_image(policy: dict[str, Any], images: list[Image]) -> None:
    summary = run(policy, images).to_dict()["summary"]
    assert summary["expiringImageTotalCount"] + summary["retainedImageCount"] == len(images)
    assert summary["retainedBytes"] + summary["expiringBytes"] == sum(i.size_bytes for i in images)


@PROPERTY_SETTINGS
@given(policies(), image_sets())
def test_first_matching_rule_decides_each_image(
    policy: dict[str, Any], images: list[Image]
) -> None:
    # An independent formulation of ECR's semantics: the highest-priority rule that matches an
    # image owns it, and acts on it exactly when its count condition selects it.
    preview = run(policy, images)
    rules = parse_policy(policy)
    expected = set()
    for owner in rules:
        owned = [
            i
            for i in images
            if matches(owner, i)
            and not any(matches(r, i) for r in rules if r.priority < owner.priority)
        ]
        chosen = {i.digest for i in select(owner, [i for i in images if matches(owner, i)], NOW)}
        expected |= {(i.digest, owner.priority) for i in owned if i.digest in chosen}
    assert {(r.image.digest, r.rule_priority) for r in preview.results} == expected
