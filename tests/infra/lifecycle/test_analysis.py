"""`infra.lifecycle.analyse`: the document as a whole (its shape, its length, garbage), and what
it hands on: every error, warnings, and typed rules only when there is no error."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.lifecycle import analyse, render
from infra.lifecycle.analysis import _check_length

from .support import BUILDS, NO_FINDINGS, RELEASES, UNTAGGED, VALID, findings, rule, single_error


def test_valid_policy_has_no_findings() -> None:
    assert findings(VALID) == NO_FINDINGS
    assert analyse(VALID).ok


def test_fifty_rules_are_valid() -> None:
    rules = [rule(p, prefixes=[f"team{p}-"]) for p in range(1, 51)]
    assert analyse({"rules": rules}).ok


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


def test_policy_text_longer_than_ecr_allows() -> None:
    rules = [{**rule(p, prefixes=[f"t{p}-"]), "description": "x" * 600} for p in range(1, 51)]
    error = single_error({"rules": rules})
    assert error.startswith("policy: rendered text is ")
    assert error.endswith("characters; ECR accepts 100 to 30720")


def test_policy_text_shorter_than_ecr_allows() -> None:
    # No valid rule renders below 100 characters, so the lower bound is checked directly.
    assert _check_length(()) == ["policy: rendered text is 12 characters; ECR accepts 100 to 30720"]
    shortest = analyse({"rules": [rule(1, "any")]}).rules
    assert _check_length(shortest) == []


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
    analysis = analyse(garbage)
    assert not analysis.ok
    assert all(isinstance(error, str) for error in analysis.errors)


def test_deeply_nested_values_are_reported_not_raised() -> None:
    nested: list[Any] = []
    for _ in range(5000):
        nested = [nested]
    analysis = analyse({"rules": [{**RELEASES, "rulePriority": nested}]})
    assert analysis.errors == (
        "rule 1 (rulePriority <list nested too deeply to show>): rulePriority: must be a "
        "positive integer, got <list nested too deeply to show>",
    )


def test_inputs_are_not_mutated() -> None:
    rules = copy.deepcopy(VALID["rules"])
    analyse({"rules": rules})
    assert rules == VALID["rules"]


def test_python_callers_may_use_tuples() -> None:
    as_tuple = {**RELEASES, "selection": {**RELEASES["selection"], "tagPatternList": ("v*",)}}
    [typed] = analyse({"rules": (as_tuple,)}).rules
    assert typed.tag_list == ("v*",)
    assert '"tagPatternList":["v*"]' in render([typed])


def test_every_error_is_reported_and_no_rule_survives_an_error() -> None:
    bad = [rule(1, "untagged", prefixes=["v"], count_type="sinceImagePushed"), rule(1, number=0)]
    analysis = analyse({"rules": [*bad, RELEASES]})
    assert analysis.errors == (
        'rule 1 (rulePriority 1): selection.tagPrefixList: not allowed with tagStatus "untagged"',
        'rule 2 (rulePriority 1): selection: tagStatus "tagged" needs exactly one of '
        "tagPrefixList or tagPatternList, found neither",
        "rule 2 (rulePriority 1): selection.countNumber: must be a positive integer, got 0",
        "rule 2 (rulePriority 1): rulePriority: duplicates rule 1 (rulePriority 1); must be unique",
    )
    # The valid third rule is not handed on: callers never act on half a rejected policy.
    assert (analysis.ok, analysis.rules) == (False, ())


def test_rules_come_typed_by_ascending_priority() -> None:
    analysis = analyse({"rules": [BUILDS, UNTAGGED, RELEASES]})
    assert [typed.priority for typed in analysis.rules] == [1, 2, 3]
    assert [typed.tag_status for typed in analysis.rules] == ["untagged", "tagged", "tagged"]
