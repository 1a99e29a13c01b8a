"""Each validator rule: one failing case (exactly the expected error), plus valid policies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.lifecycle import Findings, LifecyclePolicyError, build_policy, policy_json, validate
from infra.lifecycle.model import Rule, rule_from_document
from infra.lifecycle.policy import _check_length

from .helpers import rule

UNTAGGED = rule(1, "untagged", count_type="sinceImagePushed", number=1)
RELEASES = rule(2, patterns=["v*"], number=10)
BUILDS = rule(3, patterns=["sha-*"], number=30)
VALID = {"rules": [UNTAGGED, RELEASES, BUILDS]}
ARCHIVE: dict[str, Any] = {"storage": "archive"}
UNTAG_ARCHIVE: dict[str, Any] = {"status": "untagged", "storage": "archive"}
ARCHIVE_180: dict[str, Any] = {"count_type": "sinceImageTransitioned", "number": 180, **ARCHIVE}


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


DELETE = object()


def single_error(document: Any) -> str:
    findings = validate(document)
    assert len(findings.errors) == 1, findings.errors
    return findings.errors[0]


def test_valid_policy_has_no_findings() -> None:
    assert validate(VALID) == Findings()
    assert validate(VALID).ok


def test_archive_and_transition_policy_is_valid() -> None:
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
    assert validate(document) == Findings()


def test_untagged_rules_in_different_storage_classes_are_valid() -> None:
    document = {
        "rules": [
            rule(1, "untagged", count_type="sinceImagePushed", number=1),
            rule(2, "untagged", count_type="sinceImageTransitioned", number=90, storage="archive"),
        ]
    }
    assert validate(document).ok


def test_fifty_rules_are_valid() -> None:
    rules = [rule(p, prefixes=[f"team{p}-"]) for p in range(1, 51)]
    assert validate({"rules": rules}).ok


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "policy: must be an object"),
        ({"rules": [UNTAGGED], "version": 1}, "policy: version: unknown field; allowed: rules"),
        ({}, "policy: rules: required"),
        ({"rules": {"a": 1}}, "policy: rules: must be a list of rules, got object"),
        ({"rules": []}, "policy: rules: must hold 1 to 50 rules, got 0"),
        (
            {"rules": [rule(p, prefixes=[f"t{p}"]) for p in range(1, 52)]},
            "policy: rules: must hold 1 to 50 rules, got 51",
        ),
        (
            {"rules": ["expire"]},
            "rule 1 (rulePriority missing): rule: must be an object, got string",
        ),
    ],
)
def test_document_errors(document: Any, expected: str) -> None:
    assert single_error(document).startswith(expected)


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
    assert validate(with_change("selection.tagPatternList", ["*test*1*2*3"])).ok


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


def test_any_rule_must_be_last() -> None:
    document = {"rules": [rule(1, "any", number=3), rule(2, patterns=["v*"])]}
    error = single_error(document)
    assert error.startswith('rule 1 (rulePriority 1): rulePriority: a tagStatus "any" rule')
    assert 'highest rulePriority of the rules in storage class "standard" (2)' in error


def test_only_one_any_rule() -> None:
    document = {
        "rules": [rule(1, patterns=["v*"]), rule(5, "any", number=3), rule(9, "any", number=30)]
    }
    assert validate(document).errors == (
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
    assert validate(document) == Findings()


def test_any_rule_last_in_its_storage_class_may_precede_other_classes() -> None:
    document = {"rules": [rule(1, "any", number=3), rule(2, patterns=["v*"], **ARCHIVE_180)]}
    assert validate(document).ok


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
    errors = validate({"rules": rules}).errors
    assert any(error.startswith(expected) for error in errors), errors
    # Every error is about the `any` rules of the one storage class at fault.
    assert all('"any"' in error for error in errors)


def test_any_rule_below_a_broken_rule_of_its_class_is_still_an_error() -> None:
    # The broken rule's priority and storage class are readable, so it still counts.
    broken = rule(2, patterns=["v*"], number=0)
    errors = validate({"rules": [rule(1, "any", number=3), broken]}).errors
    assert len(errors) == 2
    assert '"any" rule must have the highest rulePriority' in errors[1]


def test_same_prefix_set_in_one_storage_class() -> None:
    document = {"rules": [rule(1, prefixes=["a", "b"]), rule(2, prefixes=["b", "a"])]}
    assert "rule 2 (rulePriority 2): selection: has the same tagPrefixList set as rule 1" in (
        single_error(document)
    )


def test_policy_text_longer_than_ecr_allows() -> None:
    rules = [{**rule(p, prefixes=[f"t{p}-"]), "description": "x" * 600} for p in range(1, 51)]
    error = single_error({"rules": rules})
    assert error.startswith("policy: rendered text is ")
    assert error.endswith("characters; ECR accepts 100 to 30720")


def test_policy_text_shorter_than_ecr_allows() -> None:
    # No valid rule renders below 100 characters, so the lower bound is checked directly.
    assert _check_length([]) == ["policy: rendered text is 12 characters; ECR accepts 100 to 30720"]
    shortest: Rule = rule_from_document(rule(1, "any"))
    assert _check_length([shortest]) == []


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        3,
        "rules",
        [1, 2],
        {"rules": None},
        {"rules": [None, {"selection": None, "action": 3}]},
    ],
)
def test_garbage_is_reported_not_raised(garbage: Any) -> None:
    findings = validate(garbage)
    assert not findings.ok
    assert all(isinstance(error, str) for error in findings.errors)


def test_deeply_nested_values_are_reported_not_raised() -> None:
    nested: list[Any] = []
    for _ in range(5000):
        nested = [nested]
    findings = validate({"rules": [{**RELEASES, "rulePriority": nested}]})
    assert findings.errors == (
        "rule 1 (rulePriority <list nested too deeply to show>): rulePriority: must be a "
        "positive integer, got <list nested too deeply to show>",
    )


# --- warnings ----------------------------------------------------------------------------------


def test_multi_entry_list_warns_about_and_semantics() -> None:
    seed = rule(1, prefixes=["prod", "dev", "staging", "latest"], number=5)
    findings = validate({"rules": [seed]})
    assert findings.ok
    assert findings.warnings == (
        'rule 1 (rulePriority 1): selection.tagPrefixList: ["prod", "dev", "staging", "latest"] '
        "matches only images that have a tag for EVERY entry (AND), not any one of them; write "
        "one rule per entry to match images carrying any of them",
    )


@pytest.mark.parametrize("number", [1, 30, 89])
def test_short_since_transitioned_warns_but_is_valid(number: int) -> None:
    document = {
        "rules": [
            rule(1, patterns=["x*"], count_type="sinceImageTransitioned", number=number, **ARCHIVE)
        ]
    }
    findings = validate(document)
    assert findings.ok
    assert findings.warnings == (
        f"rule 1 (rulePriority 1): selection.countNumber: {number} is under 90, the archive "
        "class's minimum storage duration: ECR's user guide says lifecycle policies cannot "
        "delete images archived for less than 90 days, so ECR may refuse this rule or keep "
        "those images until day 90",
    )


def test_since_transitioned_of_90_days_or_more_has_no_warning() -> None:
    for number in (90, 91, 365):
        document = {
            "rules": [rule(1, count_type="sinceImageTransitioned", number=number, **UNTAG_ARCHIVE)]
        }
        assert validate(document) == Findings()


def test_star_in_prefix_warns() -> None:
    findings = validate({"rules": [rule(1, prefixes=["v*"])]})
    assert findings.ok
    assert "'*' is a literal character in a prefix" in findings.warnings[0]


@pytest.mark.parametrize(
    ("field", "document"),
    [
        ("tagPrefixList", rule(1, prefixes=["release/"])),
        ("tagPatternList", rule(1, patterns=["v1 *"])),
        ("tagPatternList", rule(1, patterns=["v:latest"])),
    ],
)
def test_entry_that_no_tag_can_match_warns(field: str, document: dict[str, Any]) -> None:
    findings = validate({"rules": [document]})
    entry = document["selection"][field][0]
    assert findings.ok
    assert findings.warnings == (
        f"rule 1 (rulePriority 1): selection.{field}[0]: "
        f'"{entry}" can never match: tags only contain A-Z a-z 0-9 _ . -',
    )


def test_python_callers_may_use_tuples() -> None:
    built = build_policy(
        [{**RELEASES, "selection": {**RELEASES["selection"], "tagPatternList": ("v*",)}}]
    )
    assert built["rules"][0]["selection"]["tagPatternList"] == ["v*"]


@pytest.mark.parametrize(
    ("higher", "lower"),
    [
        (rule(1, prefixes=["v"]), rule(2, prefixes=["v1"])),
        (rule(1, patterns=["v*"]), rule(2, prefixes=["v1."])),
        (rule(1, patterns=["v*"]), rule(2, patterns=["v1*", "sha-*"])),
        (rule(1, prefixes=["sha-"]), rule(2, patterns=["sha-*-final"])),
        (rule(1, patterns=["*"]), rule(2, patterns=["latest"])),
        (rule(1, patterns=["latest"]), rule(2, patterns=["latest"])),
    ],
)
def test_rule_shadowed_by_higher_rule_warns(higher: dict[str, Any], lower: dict[str, Any]) -> None:
    findings = validate({"rules": [higher, lower]})
    assert findings.ok
    assert len(findings.warnings) == 1 or "AND" in findings.warnings[0]
    assert findings.warnings[-1].startswith(
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
    findings = validate({"rules": [higher, lower]})
    assert findings.ok
    assert not [w for w in findings.warnings if "can never act" in w]


# --- building and rendering --------------------------------------------------------------------


def test_build_policy_sorts_rules_and_orders_keys() -> None:
    messy = {
        "action": {"type": "expire"},
        "selection": {
            "countNumber": 10,
            "countType": "imageCountMoreThan",
            "tagPatternList": ["v*"],
            "tagStatus": "tagged",
        },
        "description": "releases",
        "rulePriority": 2,
    }
    built = build_policy([BUILDS, messy, UNTAGGED])
    assert [r["rulePriority"] for r in built["rules"]] == [1, 2, 3]
    assert list(built["rules"][1]) == ["rulePriority", "description", "selection", "action"]
    assert list(built["rules"][1]["selection"]) == [
        "tagStatus",
        "tagPatternList",
        "countType",
        "countNumber",
    ]


def test_build_policy_raises_with_every_error() -> None:
    bad = [rule(1, "untagged", prefixes=["v"], count_type="sinceImagePushed"), rule(1, number=0)]
    with pytest.raises(LifecyclePolicyError) as caught:
        build_policy(bad)
    assert isinstance(caught.value, ValueError)
    assert len(caught.value.findings.errors) == 4
    for error in caught.value.findings.errors:
        assert error in str(caught.value)


def test_policy_json_is_canonical_and_compact() -> None:
    forward = policy_json({"rules": [UNTAGGED, RELEASES, BUILDS]})
    backward = policy_json({"rules": [BUILDS, RELEASES, UNTAGGED]})
    reordered = {k: RELEASES[k] for k in reversed(list(RELEASES))}
    assert forward == backward == policy_json({"rules": [reordered, BUILDS, UNTAGGED]})
    assert forward.startswith('{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged",')
    assert " " not in forward


def test_policy_json_rejects_invalid_document() -> None:
    with pytest.raises(LifecyclePolicyError):
        policy_json({"rules": [RELEASES], "extra": True})


def test_inputs_are_not_mutated() -> None:
    rules = copy.deepcopy(VALID["rules"])
    build_policy(rules)
    validate({"rules": rules})
    assert rules == VALID["rules"]


def test_parsed_rules_type_every_schema_field() -> None:
    from infra.lifecycle import parse_policy

    transition = {
        "rulePriority": 2,
        "description": "Archive what nobody pulled for a quarter",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["sha-*"],
            "countType": "sinceImagePulled",
            "countUnit": "days",
            "countNumber": 90,
        },
        "action": {"type": "transition", "targetStorageClass": "archive"},
    }
    expire = {
        "rulePriority": 1,
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 3},
        "action": {"type": "expire"},
    }
    first, second = parse_policy({"rules": [transition, expire]})
    assert (first.priority, first.description, first.tag_status) == (1, None, "untagged")
    assert (first.count_type, first.count_unit, first.count_number) == (
        "imageCountMoreThan",
        None,
        3,
    )
    assert (first.action, first.target_storage_class, first.storage_class) == (
        "expire",
        None,
        "standard",
    )
    assert second.description == "Archive what nobody pulled for a quarter"
    assert (second.tag_list_kind, second.tag_list) == ("tagPatternList", ("sha-*",))
    assert (second.count_type, second.count_unit, second.count_number) == (
        "sinceImagePulled",
        "days",
        90,
    )
    assert (second.action, second.target_storage_class) == ("transition", "archive")
