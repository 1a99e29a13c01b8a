"""infra/access_policy.py: the repository policy document, checked without Pulumi.

Expected actions are written out from the ECR user guide ("Private repository policy
examples"): pulling needs the three read actions, pushing the four upload actions besides.
"""

from __future__ import annotations

import pytest

from infra.access_policy import repository_policy

NODE_ROLE = "arn:aws:iam::842676018087:role/mlops-retail-cluster-node-role"
CI_ROLE = "arn:aws:iam::842676018087:role/retail-registry-ci-deploy"
PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
PUSH = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]


def test_no_principals_means_no_policy() -> None:
    assert repository_policy() is None


def test_pull_and_push_statements_are_separate_with_stable_sids() -> None:
    document = repository_policy(pull_principals=[NODE_ROLE], push_principals=[CI_ROLE])
    assert document is not None
    assert document["Version"] == "2012-10-17"
    by_sid = {statement["Sid"]: statement for statement in document["Statement"]}
    assert set(by_sid) == {"AllowPull", "AllowPush"}
    assert by_sid["AllowPull"]["Principal"] == {"AWS": [NODE_ROLE]}
    assert by_sid["AllowPull"]["Action"] == PULL
    assert by_sid["AllowPush"]["Principal"] == {"AWS": [CI_ROLE]}
    # Push implies pull: a pusher must read layers to skip the ones the registry has.
    assert sorted(by_sid["AllowPush"]["Action"]) == sorted(PULL + PUSH)
    assert all(statement["Effect"] == "Allow" for statement in document["Statement"])


def test_never_grants_wildcard_actions_or_unconditioned_wildcard_principals() -> None:
    document = repository_policy(
        pull_principals=[NODE_ROLE],
        push_principals=[CI_ROLE],
        pull_organization_ids=["o-abcdefghij"],
    )
    assert document is not None
    for statement in document["Statement"]:
        assert all(
            action.startswith("ecr:") and "*" not in action for action in statement["Action"]
        )
        if "*" in str(statement["Principal"]):
            assert statement["Condition"] == {
                "StringEquals": {"aws:PrincipalOrgID": ["o-abcdefghij"]}
            }
            assert statement["Action"] == PULL


def test_organization_pull_only_grants_reads() -> None:
    document = repository_policy(pull_organization_ids=["o-zzzzzzzzzz", "o-aaaaaaaaaa"])
    assert document is not None
    (statement,) = document["Statement"]
    assert statement["Sid"] == "AllowPullFromOrganizations"
    assert statement["Action"] == PULL
    assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == [
        "o-aaaaaaaaaa",
        "o-zzzzzzzzzz",
    ]


def test_document_is_independent_of_input_order_and_duplicates() -> None:
    one = repository_policy(pull_principals=[NODE_ROLE, CI_ROLE])
    other = repository_policy(pull_principals=[CI_ROLE, NODE_ROLE, CI_ROLE])
    assert one == other


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("pullPrincipals", {"pull_principals": ["*"]}),
        ("pushPrincipals", {"push_principals": ["arn:aws:iam::842676018087:role/*"]}),
        ("pullOrganizationIds", {"pull_organization_ids": [""]}),
    ],
)
def test_wildcards_are_refused_even_past_config_validation(
    field: str, kwargs: dict[str, list[str]]
) -> None:
    with pytest.raises(ValueError, match=field):
        repository_policy(**kwargs)
