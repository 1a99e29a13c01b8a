"""examples/eks-consumer/pull_policy.py: the node role's ECR pull policy, written out in full."""

from __future__ import annotations

from types import ModuleType

import pytest


def test_node_pull_policy_grants_pull_on_this_repository_only(pull_policy: ModuleType) -> None:
    arn = "arn:aws:ecr:ap-southeast-1:842676018087:repository/mlops/retail-api"
    # What a Docker pull calls, per the ECR User Guide's pull-permission examples: layer
    # check, image manifest, layer download URL; the login token cannot be scoped.
    assert pull_policy.node_pull_policy(arn) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullRetailApi",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": arn,
            },
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
        ],
    }
    with pytest.raises(ValueError, match=r"^repositoryArn: "):
        pull_policy.node_pull_policy("arn:aws:s3:::bucket")
