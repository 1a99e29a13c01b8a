"""`infra.lifecycle.validate`: each schema rule of one lifecycle rule, as an error naming the rule
and the field (exactly one per broken field), and the warnings for legal mistakes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.lifecycle import analyse

from .support import VALID, rule, single_error

DELETE = object()


def with_change(path: str, value: Any, index: int = 1) -> dict[str, Any]:
    """VALID with one field of rule `index` set (value ...) or deleted (value is DELETE)."""
    document = copy.deepcopy(VALID)
    target = document["rules"][index]
    *parents, leaf = path.split(".")
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("priority", 1, "rule 2 (rulePriority 2): priority: unknown field; allowed: rulePriority"),
        ("rulePriority", DELETE, "rule 2 (rulePriority missing): rulePriority: required"),
        (
            "rulePriority",
            "2",
            'rule 2 (rulePriority "2"): rulePriority: must be a positive integer',
        ),
        ("rulePriority", 2.5, "rulePriority: must be a positive integer, got 2.5"),
        ("rulePriority", True, "rulePriority: must be a positive integer, got true"),
        ("rulePriority", 0, "rule 2 (rulePriority 0): rulePriority: must be a positive integer"),
        ("rulePriority", -4, "rulePriority: must be a positive integer, got -4"),
        ("rulePriority", 1, "rule 2 (rulePriority 1): rulePriority: duplicates rule 1"),
        ("description", 7, "description: must be a string, got number"),
        ("selection", DELETE, "selection: required, an object"),
        ("selection", "tagged", "selection: must be an object, got string"),
        ("action", DELETE, "action: required, an object"),
        ("action", ["expire"], "action: must be an object, got list"),
        ("selection.tagPrefix", ["v"], "selection.tagPrefix: unknown field"),
        ("action.days", 3, "action.days: unknown field; allowed: type, targetStorageClass"),
        ("selection.tagStatus", DELETE, "selection.tagStatus: required"),
        ("selection.countType", DELETE, "selection.countType: required"),
        ("selection.countNumber", DELETE, "selection.countNumber: required"),
        ("action.type", DELETE, "action.type: required"),
        (
            "selection.tagStatus",
            "TAGGED",
            'selection.tagStatus: must be one of "tagged" | "untagged" | "any", got "TAGGED"',
        ),
        (
            "selection.countType",
            "imageCountLessThan",
            'selection.countType: must be one of "imageCountMoreThan"',
        ),
        (
            "selection.storageClass",
            "glacier",
            'selection.storageClass: must be one of "standard" | "archive", got "glacier"',
        ),
        (
            "action.type",
            "delete",
            'action.type: must be one of "expire" | "transition", got "delete"',
        ),
        ("selection.countNumber", 0, "selection.countNumber: must be a positive integer, got 0"),
        (
            "selection.countNumber",
            "10",
            'selection.countNumber: must be a positive integer, got "10"',
        ),
        (
            "selection.countNumber",
            2.5,
            "selection.countNumber: must be a positive integer, got 2.5",
        ),
        (
            "selection.countNumber",
            False,
            "selection.countNumber: must be a positive integer, got false",
        ),
        (
            "selection.countUnit",
            "days",
            "selection.countUnit: not allowed with countType imageCountMoreThan",
        ),
        ("selection.tagPatternList", [], "selection.tagPatternList: must not be empty"),
        (
            "selection.tagPatternList",
            "v*",
            "selection.tagPatternList: must be a list of strings, got string",
        ),
        (
            "selection.tagPatternList",
            ["v*", ""],
            'selection.tagPatternList[1]: must be a non-empty string, got ""',
        ),
        (
            "selection.tagPatternList",
            [3],
            "selection.tagPatternList[0]: must be a non-empty string, got 3",
        ),
        (
            "selection.tagPatternList",
            ["v*1*2*3*4*"],
            'selection.tagPatternList[0]: "v*1*2*3*4*" has 5 wildcards; ECR allows at most 4',
        ),
        (
            "selection.tagPrefixList",
            ["v"],
            "needs exactly one of tagPrefixList or tagPatternList, found both",
        ),
        (
            "selection.tagPatternList",
            DELETE,
            'selection: tagStatus "tagged" needs exactly one of tagPrefixList or '
            "tagPatternList, found neither",
        ),
        (
            "action.targetStorageClass",
            "archive",
            "action.targetStorageClass: not allowed with action type expire",
        ),
        (
            "selection.storageClass",
            "archive",
            '"archive" is only allowed with countType sinceImageTransitioned, not '
            "imageCountMoreThan",
        ),
    ],
)
def test_rule_errors(path: str, value: Any, expected: str) -> None:
    error = single_error(with_change(path, value))
    assert expected in error
    assert error.startswith("rule 2 (rulePriority ")


def test_four_wildcards_are_allowed() -> None:
    assert analyse(with_change("selection.tagPatternList", ["*test*1*2*3"])).ok


def test_multi_entry_list_warns_about_and_semantics() -> None:
    seed = rule(1, prefixes=["prod", "dev", "staging", "latest"], number=5)
    analysis = analyse({"rules": [seed]})
    assert analysis.ok
    assert analysis.warnings == (
        'rule 1 (rulePriority 1): selection.tagPrefixList: ["prod", "dev", "staging", "latest"] '
        "matches only images that have a tag for EVERY entry (AND), not any one of them; write "
        "one rule per entry to match images carrying any of them",
    )


def test_star_in_prefix_warns() -> None:
    analysis = analyse({"rules": [rule(1, prefixes=["v*"])]})
    assert analysis.ok
    assert "'*' is a literal character in a prefix" in analysis.warnings[0]


@pytest.mark.parametrize(
    ("field", "document"),
    [
        ("tagPrefixList", rule(1, prefixes=["release/"])),
        ("tagPatternList", rule(1, patterns=["v1 *"])),
        ("tagPatternList", rule(1, patterns=["v:latest"])),
    ],
)
def test_entry_that_no_tag_can_match_warns(field: str, document: dict[str, Any]) -> None:
    analysis = analyse({"rules": [document]})
    entry = document["selection"][field][0]
    assert analysis.ok
    assert analysis.warnings == (
        f"rule 1 (rulePriority 1): selection.{field}[0]: "
        f'"{entry}" can never match: tags only contain A-Z a-z 0-9 _ . -',
    )
