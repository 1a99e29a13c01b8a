"""The generated documents, accepted by an ECR implementation nobody here wrote (moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.access_policy import repository_policy
from infra.config import RetailRegistryArgs, load_args, read_stack_values, resource_tags


def create_like_the_program(ecr: Any, args: RetailRegistryArgs) -> None:
    encryption: dict[str, str] = {"encryptionType": "KMS" if args.kms_key_arn else "AES256"}
    if args.kms_key_arn:
        encryption["kmsKey"] = args.kms_key_arn
    optional: dict[str, Any] = {}
    if args.mutable_tags:
        optional["imageTagMutabilityExclusionFilters"] = [
            {"filter": pattern, "filterType": "WILDCARD"} for pattern in args.mutable_tags
        ]
    ecr.create_repository(
        repositoryName=args.repository_name,
        imageTagMutability=args.tag_mutability,
        imageScanningConfiguration={"scanOnPush": args.scan_on_push},
        encryptionConfiguration=encryption,
        tags=[{"Key": k, "Value": v} for k, v in resource_tags(args.stack).items()],
        **optional,
    )


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_stack_documents_are_accepted_by_ecr(ecr: Any, stack: str) -> None:
    args = load_args(read_stack_values(stack), stack=stack)
    create_like_the_program(ecr, args)
    lifecycle_text = args.lifecycle.policy_json
    ecr.put_lifecycle_policy(
        repositoryName=args.repository_name, lifecyclePolicyText=lifecycle_text
    )
    stored = ecr.get_lifecycle_policy(repositoryName=args.repository_name)
    assert json.loads(stored["lifecyclePolicyText"]) == json.loads(lifecycle_text)

    document = repository_policy(
        pull_principals=args.pull_principals,
        push_principals=args.push_principals,
        pull_organization_ids=args.pull_organization_ids,
    )
    if document is not None:
        ecr.set_repository_policy(
            repositoryName=args.repository_name, policyText=json.dumps(document)
        )
        stored_policy = ecr.get_repository_policy(repositoryName=args.repository_name)
        assert json.loads(stored_policy["policyText"]) == document

    described = ecr.describe_repositories(repositoryNames=[args.repository_name])["repositories"][0]
    assert described["imageTagMutability"] == "IMMUTABLE"
    assert described["imageScanningConfiguration"] == {"scanOnPush": True}


def test_kms_and_exclusion_settings_are_accepted_by_ecr(ecr: Any) -> None:
    kms = "arn:aws:kms:ap-southeast-1:842676018087:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    args = load_args(
        {
            "repositoryName": "mlops/retail-api",
            "tagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "mutableTags": ["cache-*", "latest"],
            "kmsKeyArn": kms,
        },
        stack="prod",
    )
    create_like_the_program(ecr, args)
    described = ecr.describe_repositories(repositoryNames=["mlops/retail-api"])["repositories"][0]
    assert described["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert described["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": kms}
    assert [f["filter"] for f in described["imageTagMutabilityExclusionFilters"]] == [
        "cache-*",
        "latest",
    ]


def test_organization_policy_is_accepted_by_ecr(ecr: Any) -> None:
    ecr.create_repository(repositoryName="mlops/retail-api")
    document = repository_policy(
        pull_principals=["arn:aws:iam::842676018087:root"], pull_organization_ids=["o-abcdefghij"]
    )
    ecr.set_repository_policy(repositoryName="mlops/retail-api", policyText=json.dumps(document))
    stored = json.loads(ecr.get_repository_policy(repositoryName="mlops/retail-api")["policyText"])
    assert [s["Sid"] for s in stored["Statement"]] == ["AllowPull", "AllowPullFromOrganizations"]


def test_moto_rejects_what_ecr_rejects(ecr: Any) -> None:
    """The outside check is not a rubber stamp: an invalid document is refused."""
    ecr.create_repository(repositoryName="mlops/retail-api")
    bad_rule = {
        "rulePriority": 1,
        "description": "tagStatus outside the enum, which ECR refuses",
        "selection": {
            "tagStatus": "sometimes",
            "countType": "imageCountMoreThan",
            "countNumber": 1,
        },
        "action": {"type": "expire"},
    }
    with pytest.raises(ecr.exceptions.InvalidParameterException):
        ecr.put_lifecycle_policy(
            repositoryName="mlops/retail-api", lifecyclePolicyText=json.dumps({"rules": [bad_rule]})
        )
