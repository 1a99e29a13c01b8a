"""The value types of the program's AWS calls: where a repository is, and how a call failed.

Pure: no boto3, no Pulumi. `infra.aws_session` makes the calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from infra.aws_config import AwsConfig

_REPOSITORY_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):ecr:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"repository/(?P<repository>.+)"
)


@dataclass(frozen=True)
class EcrTarget:
    """The repository to ask, read from its ARN: the region and account it really lives in."""

    partition: str
    region: str
    account: str
    repository: str

    @classmethod
    def from_arn(cls, arn: str) -> EcrTarget:
        """Parse `arn:aws:ecr:<region>:<account>:repository/<name>`; ValueError otherwise."""
        match = _REPOSITORY_ARN.fullmatch(arn)
        if match is None:
            raise ValueError(
                f"repository ARN: {arn!r} is not arn:aws:ecr:<region>:<account>:repository/<name>"
            )
        return cls(**match.groupdict())

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{self.repository}"

    @property
    def scope(self) -> dict[str, Any]:
        """The request fields every ECR call on this repository carries."""
        return {"registryId": self.account, "repositoryName": self.repository}


class AwsCallError(Exception):
    """An AWS call failed; `code` is AWS's error code, or the botocore exception's name.

    `no_credentials` is set when no identity could be found at all (no keys, an unknown
    profile, a failed role assumption): that is not a missing IAM permission."""

    def __init__(self, call: str, code: str, message: str, *, no_credentials: bool = False):
        super().__init__(f"{call} failed: {code}: {message}")
        self.call = call
        self.code = code
        self.no_credentials = no_credentials


def check_account(account: str, config: AwsConfig) -> None:
    """Refuse credentials of an account the provider would refuse (allowed/forbidden lists)."""
    if config.allowed_account_ids and account not in config.allowed_account_ids:
        raise AwsCallError(
            "GetCallerIdentity",
            "AccountNotAllowed",
            f"credentials belong to account {account}, which aws:allowedAccountIds "
            f"({', '.join(config.allowed_account_ids)}) does not list",
        )
    if account in config.forbidden_account_ids:
        raise AwsCallError(
            "GetCallerIdentity",
            "AccountForbidden",
            f"credentials belong to account {account}, which aws:forbiddenAccountIds lists",
        )
