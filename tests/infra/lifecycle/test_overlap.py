"""`infra.lifecycle.overlap`: checks across rules (priorities, one `any` and one untagged rule per
storage class, identical prefix sets) and the warning for a rule a higher one shadows.

AWS, "Lifecycle policy properties": "A rule with a tagStatus value of any must have the highest
value for rulePriority and be evaluated last." AWS, "How lifecycle policies work": "Only one rule
selecting a specific storage class is allowed to select untagged images."
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.lifecycle import analyse

from .support import NO_FINDINGS, findings, rule, single_error

ARCHIVE_180: dict[str, Any] = {
    "count_type": "sinceImageTransitioned",
    "number": 180,
    "storage": "archive",
}


def test_any_rule_must_be_last() -> None:
    document = {"rules": [rule(1, "any", number=3), rule(2, patterns=["v*"])]}
    error = single_error(document)
    assert error.startswith('rule 1 (rulePriority 1): rulePriority: a tagStatus "any" rule')
    assert 'highest rulePriority of the rules in storage class "standard" (2)' in error


def test_only_one_any_rule() -> None:
    document = {
        "rules": [rule(1, patterns=["v*"]), rule(5, "any", number=3), rule(9, "any", number=30)]
    }
    assert analyse(document).errors == (
        'rule 2 (rulePriority 5): rulePriority: a tagStatus "any" rule must have the highest '
        'rulePriority of the rules in storage class "standard" (9), so that it is evaluated last',
        "rule 3 (rulePriority 9): selection.tagStatus: only one rule per storage class may use "
        '"any"; rule 2 (rulePriority 5) already does in storage class "standard"',
    )


def archive_any(priority: int) -> dict[str, Any]:
    return rule(priority, "any", count_type="sinceImageTransitioned", number=180, storage="archive")


def standard_any_transition(priority: int, storage: str | None = "standard") -> dict[str, Any]:
    return rule(
        priority,
        "any",
        count_type="sinceImagePulled",
        number=30,
        storage=storage,
        action="transition",
        target="archive",
    )


@pytest.mark.parametrize("storage", ["standard", None])
def test_one_any_rule_per_storage_class_is_valid(storage: str | None) -> None:
    # What AWS accepts: archive after 30 days without a pull, delete 180 days after archiving.
    document = {"rules": [standard_any_transition(1, storage), archive_any(2)]}
    assert findings(document) == NO_FINDINGS


def test_any_rule_last_in_its_storage_class_may_precede_other_classes() -> None:
    document = {"rules": [rule(1, "any", number=3), rule(2, patterns=["v*"], **ARCHIVE_180)]}
    assert analyse(document).ok


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            [archive_any(1), archive_any(2)],
            "rule 2 (rulePriority 2): selection.tagStatus: only one rule per storage class may "
            'use "any"; rule 1 (rulePriority 1) already does in storage class "archive"',
        ),
        (
            [archive_any(1), rule(2, patterns=["v*"], **ARCHIVE_180)],
            'rule 1 (rulePriority 1): rulePriority: a tagStatus "any" rule must have the highest '
            'rulePriority of the rules in storage class "archive" (2)',
        ),
        (
            [standard_any_transition(1), archive_any(2), rule(3, patterns=["v*"])],
            'rule 1 (rulePriority 1): rulePriority: a tagStatus "any" rule must have the highest '
            'rulePriority of the rules in storage class "standard" (3)',
        ),
    ],
)
def test_any_rule_checks_apply_per_storage_class(
    rules: list[dict[str, Any]], expected: str
) -> None:
    errors = analyse({"rules": rules}).errors
    assert any(error.startswith(expected) for error in errors), errors
    # Every error is about the `any` rules of the one storage class at fault.
    assert all('"any"' in error for error in errors)


def test_any_rule_below_a_broken_rule_of_its_class_is_still_an_error() -> None:
    # The broken rule's priority and storage class are readable, so it still counts.
    broken = rule(2, patterns=["v*"], number=0)
    errors = analyse({"rules": [rule(1, "any", number=3), broken]}).errors
    assert len(errors) == 2
    assert '"any" rule must have the highest rulePriority' in errors[1]


def test_same_prefix_set_in_one_storage_class() -> None:
    document = {"rules": [rule(1, prefixes=["a", "b"]), rule(2, prefixes=["b", "a"])]}
    assert "rule 2 (rulePriority 2): selection: has the same tagPrefixList set as rule 1" in (
        single_error(document)
    )


def test_untagged_rules_in_different_storage_classes_are_valid() -> None:
    document = {
        "rules": [
            rule(1, "untagged", count_type="sinceImagePushed", number=1),
            rule(2, "untagged", count_type="sinceImageTransitioned", number=90, storage="archive"),
        ]
    }
    assert analyse(document).ok


@pytest.mark.parametrize(
    ("higher", "lower", "and_warning"),
    [
        (rule(1, prefixes=["v"]), rule(2, prefixes=["v1"]), False),
        (rule(1, patterns=["v*"]), rule(2, prefixes=["v1."]), False),
        # The lower rule's two entries also earn it the AND warning, listed first.
        (rule(1, patterns=["v*"]), rule(2, patterns=["v1*", "sha-*"]), True),
        (rule(1, prefixes=["sha-"]), rule(2, patterns=["sha-*-final"]), False),
        (rule(1, patterns=["*"]), rule(2, patterns=["latest"]), False),
        (rule(1, patterns=["latest"]), rule(2, patterns=["latest"]), False),
    ],
)
def test_rule_shadowed_by_higher_rule_warns(
    higher: dict[str, Any], lower: dict[str, Any], and_warning: bool
) -> None:
    analysis = analyse({"rules": [higher, lower]})
    assert analysis.ok
    assert len(analysis.warnings) == (2 if and_warning else 1)
    if and_warning:
        assert "(AND)" in analysis.warnings[0]
    assert analysis.warnings[-1].startswith(
        "rule 2 (rulePriority 2): selection: can never act: every image it selects is matched "
        "first by rule 1 (rulePriority 1)"
    )


@pytest.mark.parametrize(
    ("higher", "lower"),
    [
        (rule(1, prefixes=["v1"]), rule(2, prefixes=["v"])),
        (rule(1, patterns=["*a*"]), rule(2, prefixes=["sha-a"])),
        (rule(1, patterns=["v*", "sha-*"]), rule(2, patterns=["v1*"])),
        (rule(1, "untagged", count_type="sinceImagePushed"), rule(2, patterns=["*"])),
        # Pattern vs prefix: in a prefix `*` is a literal character, in a pattern a wildcard.
        # Prefix "a*" takes only tags starting with the two characters "a*"; pattern "a*b"
        # also matches "axb", which no such tag is.
        (rule(1, prefixes=["a*"]), rule(2, patterns=["a*b"])),
        # Pattern "v1" matches the tag "v1" only; prefix "v1" also matches "v1.2".
        (rule(1, patterns=["v1"]), rule(2, prefixes=["v1"])),
        (
            rule(
                1, patterns=["*"], count_type="sinceImageTransitioned", number=90, storage="archive"
            ),
            rule(2, patterns=["v*"]),
        ),
    ],
)
def test_rule_not_provably_shadowed_has_no_warning(
    higher: dict[str, Any], lower: dict[str, Any]
) -> None:
    analysis = analyse({"rules": [higher, lower]})
    assert analysis.ok
    assert not [w for w in analysis.warnings if "can never act" in w]
