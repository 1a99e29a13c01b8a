"""Pure builder for the EKS node role's IAM policy: pull the API image, nothing else.

No Pulumi import and no I/O. A bad ARN raises ValueError naming the stack output.
"""

from __future__ import annotations

import re
from typing import Any

_REPOSITORY_ARN = re.compile(r"^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9._/-]+$")
# What a Docker pull calls: layer check, image manifest, layer download URL.
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def node_pull_policy(repository_arn: object) -> dict[str, Any]:
    """IAM policy for the EKS node role: pull from this one repository, nothing else."""
    if not isinstance(repository_arn, str) or not _REPOSITORY_ARN.match(repository_arn):
        raise ValueError(
            "repositoryArn: must be 'arn:aws:ecr:<region>:<account>:repository/<name>', "
            f"got {repository_arn!r}"
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullRetailApi",
                "Effect": "Allow",
                "Action": list(PULL_ACTIONS),
                "Resource": repository_arn,
            },
            # The registry login token is account-wide; IAM offers no narrower resource for it.
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
        ],
    }
