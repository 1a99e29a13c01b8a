"""`ecr-repository-policy-not-public` (policy/repository_policy.py): no Allow statement grants
everyone; a `*` principal passes only when pinned to literal organization or account ids."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from infra.access_policy import repository_policy
from policy.repository_policy import check_repository_policy
from tests.policy.conftest import policy_props

ROLE = "arn:aws:iam::123456789012:role/eks-node"


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": [ROLE, "*"]}],
)
def test_repository_policy_with_wildcard_principal_fails(principal: Any) -> None:
    doc = {
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "ecr:BatchGetImage"}]
    }
    [message] = check_repository_policy(policy_props(doc))
    assert "Statement[0].Principal" in message


@pytest.mark.parametrize("action", ["ecr:*", "ECR:*", "*", ["ecr:BatchGetImage", "ecr:*"]])
def test_repository_policy_with_all_actions_fails(action: Any) -> None:
    doc = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": action}]}
    [message] = check_repository_policy(policy_props(doc))
    assert "Statement[0].Action" in message


def test_not_principal_and_not_action_allow_statements_fail() -> None:
    doc = {
        "Statement": [
            {"Effect": "Allow", "NotPrincipal": {"AWS": ROLE}, "Action": "ecr:BatchGetImage"},
            {"Effect": "Allow", "Principal": {"AWS": ROLE}, "NotAction": "ecr:DeleteRepository"},
        ]
    }
    found = check_repository_policy(policy_props(doc))
    assert any("Statement[0] uses NotPrincipal" in m for m in found)
    assert any("Statement[1] uses NotAction" in m for m in found)


def test_deny_statement_with_wildcards_passes() -> None:
    doc = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}]}
    assert check_repository_policy(policy_props(doc)) == []


def test_wildcard_principal_pinned_to_an_organization_passes() -> None:
    doc = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["ecr:BatchGetImage"],
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}},
            }
        ]
    }
    assert check_repository_policy(policy_props(doc)) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalOrgID": "*"}},
        {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        {"StringEquals": {"aws:SourceIp": "10.0.0.1"}},
    ],
)
def test_conditions_that_do_not_pin_an_organization_still_fail(condition: Any) -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
    doc = {"Statement": [{**statement, "Condition": condition}]}
    assert check_repository_policy(policy_props(doc)) != []


def test_project_repository_policy_builder_output_passes() -> None:
    document = repository_policy(
        pull_principals=[ROLE],
        push_principals=["arn:aws:iam::123456789012:role/ci"],
        pull_organization_ids=["o-a1b2c3d4e5"],
    )
    assert document is not None
    assert check_repository_policy(policy_props(document)) == []


def test_malformed_repository_policy_reports_instead_of_raising() -> None:
    assert check_repository_policy({"policy": "nope"})[0].startswith("policy is not valid")
    doc = {"Statement": ["not-an-object"]}
    assert "Statement[0] must be a JSON object" in check_repository_policy(policy_props(doc))[0]


# --- a '*' principal is pinned only by literal ids ---------------------------------------------
# IAM's StringLike: "*" matches any run of characters, "?" any one character. Formats: an
# Organizations ID is "o-" and 10-32 lowercase letters or digits; an account ID is 12 digits; an
# organization path is "o-<id>/r-<root>/ou-<ou>/..." whose id part is its first segment.
PIN_OPERATORS = ["StringEquals", "StringLike", "ForAnyValue:StringEquals", "ForAnyValue:StringLike"]
# True when the key is absent (an anonymous caller has no organization), or negated: no pin.
OTHER_OPERATORS = [
    "StringEqualsIfExists",
    "StringLikeIfExists",
    "ForAllValues:StringLike",
    "StringNotEquals",
    "StringNotLike",
]
LITERAL = {
    "aws:PrincipalOrgID": "o-a1b2c3d4e5",
    "aws:principalorgid": "o-a1b2c3d4e5",
    "aws:PrincipalAccount": "123456789012",
    "aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
}
WILDCARD = {
    "aws:PrincipalOrgID": ["*", "o-*", "o-a1b2c3d4e?", "o-a1b2c3d4e5*", "?*"],
    "aws:principalorgid": ["o-*"],
    "aws:PrincipalAccount": ["*", "*?", "1234567890??", "12345678901*"],
    "aws:PrincipalOrgPaths": ["*", "o-*/*", "o-a1b2c3d4e*/r-ab12/*", "*/r-ab12/"],
}


def star_statement(condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
    return {"Statement": [{**statement, "Condition": condition}]}


@pytest.mark.parametrize(("operator", "key"), list(itertools.product(PIN_OPERATORS, LITERAL)))
def test_literal_id_pins_a_wildcard_principal(operator: str, key: str) -> None:
    document = star_statement({operator: {key: [LITERAL[key]]}})
    assert check_repository_policy(policy_props(document)) == []


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        (op, key, value)
        for op in PIN_OPERATORS
        for key, values in WILDCARD.items()
        for value in values
    ],
)
def test_wildcard_in_the_id_part_does_not_pin(operator: str, key: str, value: str) -> None:
    document = star_statement({operator: {key: value}})
    [message] = check_repository_policy(policy_props(document))
    assert message.startswith(f"policy.Statement[0].Condition.{operator}.{key}[0] {value!r} ")
    assert "does not pin Principal '*'" in message


@pytest.mark.parametrize("operator", ["StringLike", "ForAnyValue:StringLike"])
def test_org_path_may_have_wildcards_after_the_literal_organization(operator: str) -> None:
    document = star_statement({operator: {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}})
    assert check_repository_policy(policy_props(document)) == []


@pytest.mark.parametrize("operator", PIN_OPERATORS)
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("aws:PrincipalOrgID", "o-a1b2c3d4e5/*"),
        ("aws:PrincipalOrgID", "o-a1b2c3d4e5/r-ab12"),
        ("aws:PrincipalAccount", "123456789012/*"),
    ],
)
def test_only_an_org_path_is_read_up_to_its_first_slash(
    operator: str, key: str, value: str
) -> None:
    # An organization ID or account ID has no path: the whole value must be the literal id.
    document = star_statement({operator: {key: value}})
    [message] = check_repository_policy(policy_props(document))
    assert message.startswith(f"policy.Statement[0].Condition.{operator}.{key}[0] {value!r} ")
    assert "is not a literal" in message


@pytest.mark.parametrize(("operator", "key"), list(itertools.product(OTHER_OPERATORS, LITERAL)))
def test_operators_that_do_not_restrict_do_not_pin(operator: str, key: str) -> None:
    document = star_statement({operator: {key: LITERAL[key]}})
    [message] = check_repository_policy(policy_props(document))
    assert message.startswith("policy.Statement[0].Principal grants '*' without an")


def test_one_wildcard_among_literal_values_does_not_pin() -> None:
    # Values of one key are ORed: "o-*" next to a real id still lets every organization in.
    values = ["o-a1b2c3d4e5", "o-*"]
    [message] = check_repository_policy(
        policy_props(star_statement({"StringLike": {"aws:PrincipalOrgID": values}}))
    )
    assert message.startswith(
        "policy.Statement[0].Condition.StringLike.aws:PrincipalOrgID[1] 'o-*'"
    )


def test_every_pinning_clause_must_be_literal() -> None:
    condition = {
        "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
        "StringLike": {"aws:PrincipalAccount": "*"},
    }
    [message] = check_repository_policy(policy_props(star_statement(condition)))
    assert "Condition.StringLike.aws:PrincipalAccount[0] '*'" in message


@pytest.mark.parametrize("value", [[], None, 123456789012, "o-short"])
def test_empty_or_malformed_values_do_not_pin(value: Any) -> None:
    document = star_statement({"StringEquals": {"aws:PrincipalAccount": value}})
    assert check_repository_policy(policy_props(document)) != []
