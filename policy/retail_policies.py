"""CrossGuard policies for retail-registry, built from the pure checks in `policy.checks`.

Kept apart from `__main__.py` because constructing a `PolicyPack` starts a gRPC server and
blocks; tests import `POLICIES` from here instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import checks
from policy.repository_policy import check_repository_policy

PACK_NAME = "retail-registry-guardrails"

Check = Callable[[Mapping[str, Any]], list[str]]
ResourceValidate = Callable[[ResourceValidationArgs, ReportViolation], None]


def resource_validator(resource_type: str, check: Check) -> ResourceValidate:
    """Adapts a property check into a validate callback scoped to one resource type."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type != resource_type:
            return
        for message in check(args.props):
            report_violation(message, None)

    return validate


def _validate_force_delete(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != checks.REPOSITORY_TYPE:
        return
    for message in checks.check_force_delete(args.props, checks.stack_from_urn(args.urn)):
        report(message, None)


def _validate_stack_lifecycle(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = [checks.StackResource(r.resource_type, r.urn, r.props) for r in args.resources]
    for urn, message in checks.check_repositories_have_lifecycle(resources):
        report(message, urn)


def _resource_policy(
    name: str, description: str, level: EnforcementLevel, validate: ResourceValidate
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name, description=description, enforcement_level=level, validate=validate
    )


MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    _resource_policy(
        "ecr-tags-immutable",
        "ECR repositories set imageTagMutability to IMMUTABLE or IMMUTABLE_WITH_EXCLUSION (with "
        "no all-wildcard exclusion filter), so a deployed tag never points at different bytes.",
        MANDATORY,
        resource_validator(checks.REPOSITORY_TYPE, checks.check_tag_immutability),
    ),
    _resource_policy(
        "ecr-scan-on-push",
        "ECR repositories enable scanOnPush, so every image gets a vulnerability scan.",
        MANDATORY,
        resource_validator(checks.REPOSITORY_TYPE, checks.check_scan_on_push),
    ),
    _resource_policy(
        "ecr-lifecycle-policy-valid",
        "ECR lifecycle policies pass the project's validator (infra.lifecycle.analyse), so "
        "a rule can't silently expire images that are still deployed.",
        MANDATORY,
        resource_validator(checks.LIFECYCLE_POLICY_TYPE, checks.check_lifecycle_policy),
    ),
    StackValidationPolicy(
        name="ecr-repository-has-lifecycle-policy",
        description="Every ECR repository has a lifecycle policy that the validator accepts "
        "(matched by LifecyclePolicy.repository == Repository.name), so storage stays bounded.",
        enforcement_level=MANDATORY,
        validate=_validate_stack_lifecycle,
    ),
    _resource_policy(
        "ecr-repository-policy-not-public",
        "ECR repository policies never Allow '*' as principal (or NotPrincipal) nor 'ecr:*' / "
        "'*' as action (or NotAction), so pulls and pushes stay limited to named principals. A "
        "'*' principal passes only when pinned by aws:PrincipalOrgID, PrincipalAccount or "
        "PrincipalOrgPaths to literal ids (no wildcard in the id part).",
        MANDATORY,
        resource_validator(checks.REPOSITORY_POLICY_TYPE, check_repository_policy),
    ),
    _resource_policy(
        "docker-image-platform-set",
        "docker.Image sets build.platform, so an image built on an arm64 laptop can't land on "
        "amd64 nodes.",
        MANDATORY,
        resource_validator(checks.DOCKER_IMAGE_TYPE, checks.check_image_platform),
    ),
    _resource_policy(
        "ecr-lifecycle-policy-warnings",
        "Surfaces the lifecycle validator's warnings (accepted but worth a second look).",
        ADVISORY,
        resource_validator(checks.LIFECYCLE_POLICY_TYPE, checks.lifecycle_policy_warnings),
    ),
    _resource_policy(
        "ecr-kms-encryption",
        "ECR repositories use KMS encryption for key-policy control and CloudTrail audit of "
        "decrypts; AES256 is acceptable, hence advisory.",
        ADVISORY,
        resource_validator(checks.REPOSITORY_TYPE, checks.check_kms_encryption),
    ),
    _resource_policy(
        "ecr-no-force-delete-on-prod",
        "On a stack named 'prod', ECR repositories don't set forceDelete, so a destroy fails "
        "instead of deleting every image.",
        ADVISORY,
        _validate_force_delete,
    ),
]
