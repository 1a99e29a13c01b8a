"""`infra.lifecycle.validate` on combinations within one rule: which count types, storage
classes and actions go together, each AWS statement quoted by the test that encodes it.

Sources (Amazon ECR User Guide): "Lifecycle policy properties", "Examples of lifecycle
policies", "Archiving an image". Where AWS's sentence could not be retrieved verbatim the test
says so and docs/lifecycle.md lists the rule as unconfirmed.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from .support import NO_FINDINGS, VALID, findings, rule, single_error

COUNT_TYPES = [
    "imageCountMoreThan",
    "sinceImagePushed",
    "sinceImagePulled",
    "sinceImageTransitioned",
]
# Written out from the AWS pages above, not from the module's table.
ACCEPTED = {
    ("imageCountMoreThan", "standard", "expire"),
    ("imageCountMoreThan", "standard", "transition"),
    ("sinceImagePushed", "standard", "expire"),
    ("sinceImagePushed", "standard", "transition"),
    ("sinceImagePulled", "standard", "transition"),
    ("sinceImageTransitioned", "archive", "expire"),
}


def one_rule(count_type: str, storage: str, action: str, number: int = 90) -> dict[str, Any]:
    target = "archive" if action == "transition" else None
    return {
        "rules": [
            rule(
                1,
                "any",
                count_type=count_type,
                number=number,
                storage=storage,
                action=action,
                target=target,
            )
        ]
    }


@pytest.mark.parametrize(
    ("count_type", "storage", "action"),
    list(itertools.product(COUNT_TYPES, ["standard", "archive"], ["expire", "transition"])),
)
def test_every_count_type_against_every_storage_class_and_action(
    count_type: str, storage: str, action: str
) -> None:
    errors, _ = findings(one_rule(count_type, storage, action))
    if (count_type, storage, action) in ACCEPTED:
        assert errors == ()
    else:
        assert errors, "AWS rejects this combination"
        assert all(e.startswith("rule 1 (rulePriority 1): ") for e in errors)


def test_since_image_pulled_cannot_expire() -> None:
    """AWS (paraphrased; the verbatim sentence was not retrieved): sinceImagePulled
    must be used with the transition action; it cannot be used with expire."""
    error = single_error(one_rule("sinceImagePulled", "standard", "expire", number=30))
    assert error == (
        "rule 1 (rulePriority 1): action.type: countType sinceImagePulled must be used with "
        'action type "transition"; it cannot be used with "expire" (AWS, "Lifecycle policy '
        'properties")'
    )


@pytest.mark.parametrize("number", [1, 45, 89])
def test_archive_expiry_under_90_days_is_an_error(number: int) -> None:
    """AWS, "Archiving an image": "Archived images have a minimum storage duration of 90 days.
    You cannot configure lifecycle policies that delete images that have been in archive for
    less than 90 days."
    """
    error = single_error(one_rule("sinceImageTransitioned", "archive", "expire", number=number))
    assert error == (
        f'rule 1 (rulePriority 1): selection.countNumber: {number} is under 90: AWS: "You '
        "cannot configure lifecycle policies that delete images that have been in archive for "
        'less than 90 days" (archived images have a 90-day minimum storage duration)'
    )


@pytest.mark.parametrize("number", [90, 91, 365])
def test_archive_expiry_from_90_days_is_valid(number: int) -> None:
    document = one_rule("sinceImageTransitioned", "archive", "expire", number=number)
    assert findings(document) == NO_FINDINGS


def test_untagged_omits_both_tag_lists() -> None:
    """AWS, "Lifecycle policy properties": "If you specify untagged, then you must omit both
    tagPrefixList and tagPatternList."
    """
    document = {"rules": [rule(1, "untagged", patterns=["v*"], count_type="sinceImagePushed")]}
    assert single_error(document) == (
        'rule 1 (rulePriority 1): selection.tagPatternList: not allowed with tagStatus "untagged"'
    )


def test_tagged_needs_a_tag_list() -> None:
    """AWS, "Lifecycle policy properties": "If you specify tagged, then you must also specify a
    tagPrefixList value or a tagPatternList value."
    """
    assert single_error({"rules": [rule(1)]}) == (
        'rule 1 (rulePriority 1): selection: tagStatus "tagged" needs exactly one of '
        "tagPrefixList or tagPatternList, found neither"
    )


def test_archive_and_transition_policy_is_valid() -> None:
    # AWS's own pattern: archive what nobody pulled, delete a year after archiving.
    document = {
        "rules": [
            rule(1, "untagged", count_type="sinceImagePushed", number=1),
            rule(
                2,
                patterns=["v*"],
                count_type="sinceImagePulled",
                number=30,
                storage="standard",
                action="transition",
                target="archive",
            ),
            rule(
                3,
                patterns=["v*"],
                count_type="sinceImageTransitioned",
                number=365,
                storage="archive",
            ),
            rule(4, "any", count_type="imageCountMoreThan", number=500),
        ]
    }
    assert findings(document) == NO_FINDINGS


@pytest.mark.parametrize(
    ("bad_rule", "expected"),
    [
        (
            rule(4, "untagged", patterns=["v*"], count_type="sinceImagePushed"),
            'selection.tagPatternList: not allowed with tagStatus "untagged"',
        ),
        (
            rule(4, "any", prefixes=["v"]),
            'selection.tagPrefixList: not allowed with tagStatus "any"',
        ),
        (
            rule(4, patterns=["x*"], count_type="sinceImagePushed", unit="hours"),
            'selection.countUnit: must be one of "days", got "hours"',
        ),
        (
            {
                **rule(4, patterns=["x*"], count_type="sinceImagePulled"),
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["x*"],
                    "countType": "sinceImagePulled",
                    "countNumber": 3,
                },
                "action": {"type": "transition", "targetStorageClass": "archive"},
            },
            'selection.countUnit: required ("days") for countType sinceImagePulled',
        ),
        (
            rule(4, patterns=["x*"], count_type="sinceImageTransitioned", number=90),
            'selection.storageClass: must be "archive" for countType sinceImageTransitioned',
        ),
        (
            rule(
                4,
                patterns=["x*"],
                count_type="sinceImageTransitioned",
                number=90,
                storage="standard",
            ),
            'selection.storageClass: must be "archive" for countType sinceImageTransitioned',
        ),
        (
            rule(4, patterns=["x*"], count_type="sinceImagePushed", storage="archive"),
            '"archive" is only allowed with countType sinceImageTransitioned, not sinceImagePushed',
        ),
        (
            rule(4, patterns=["x*"], count_type="sinceImagePulled", action="transition"),
            'action.targetStorageClass: required ("archive") for action type transition',
        ),
        (
            rule(
                4,
                patterns=["x*"],
                count_type="sinceImagePulled",
                action="transition",
                target="standard",
            ),
            'action.targetStorageClass: must be one of "archive", got "standard"',
        ),
        (
            rule(
                4,
                patterns=["x*"],
                count_type="sinceImageTransitioned",
                number=90,
                storage="archive",
                action="transition",
                target="archive",
            ),
            'action.type: must be "expire" for storageClass "archive"',
        ),
        (
            rule(4, "untagged", count_type="imageCountMoreThan", number=5),
            "rule 4 (rulePriority 4): selection: selects untagged images as "
            "rule 1 (rulePriority 1) "
            'in storage class "standard"; ECR allows only one such rule',
        ),
        (rule(0, "any", number=5), "rulePriority: must be a positive integer, got 0"),
        (rule(1, patterns=["zz*"]), "rule 4 (rulePriority 1): rulePriority: duplicates rule 1"),
    ],
)
def test_rule_combination_errors(bad_rule: dict[str, Any], expected: str) -> None:
    document = {"rules": [*VALID["rules"], bad_rule]}
    assert expected in single_error(document)
