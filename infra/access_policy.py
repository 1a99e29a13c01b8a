"""The ECR repository policy: who may pull and push, as a pure document builder.

Least privilege: pullers get the three read actions, pushers add the four upload actions, and
nothing ever gets `ecr:*`. `ecr:GetAuthorizationToken` is registry-wide, so it belongs in the
principals' own IAM policies, not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PULL_ACTIONS: tuple[str, ...] = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
PUSH_ACTIONS: tuple[str, ...] = (
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


def repository_policy(
    *,
    pull_principals: Sequence[str] = (),
    push_principals: Sequence[str] = (),
    pull_organization_ids: Sequence[str] = (),
) -> dict[str, Any] | None:
    """The policy document, or None when nobody outside the account needs access."""
    for field, values in (
        ("pullPrincipals", pull_principals),
        ("pushPrincipals", push_principals),
        ("pullOrganizationIds", pull_organization_ids),
    ):
        if any(not value or "*" in value for value in values):
            raise ValueError(f"{field}: entries must be non-empty and contain no wildcard")
    statements: list[dict[str, Any]] = []
    if pull_principals:
        statements.append(_statement("AllowPull", sorted(set(pull_principals)), PULL_ACTIONS))
    if push_principals:
        statements.append(
            _statement("AllowPush", sorted(set(push_principals)), PULL_ACTIONS + PUSH_ACTIONS)
        )
    if pull_organization_ids:
        statements.append(_organization_pull_statement(sorted(set(pull_organization_ids))))
    if not statements:
        return None
    return {"Version": "2012-10-17", "Statement": statements}


def _statement(sid: str, principals: list[str], actions: tuple[str, ...]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": list(actions),
    }


def _organization_pull_statement(organization_ids: list[str]) -> dict[str, Any]:
    # IAM can only name an organization through this condition key, which needs the wildcard
    # principal; the condition is what restricts it, so the statement never stands without it.
    return {
        "Sid": "AllowPullFromOrganizations",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": list(PULL_ACTIONS),
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization_ids}},
    }
