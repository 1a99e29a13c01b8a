"""The AWS side of the gate: which registry to ask, with which client, one page at a time.

No Pulumi import; boto3 is imported only when the default client is built, so the pure gate
and the CLI never need it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from infra.scan_gate.model import ScanGateError
from infra.scan_gate.verdict import FetchPage

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


class EcrScanClient(Protocol):
    """The one ECR call the gate makes (a boto3 ECR client satisfies it)."""

    def describe_image_scan_findings(self, **kwargs: Any) -> Mapping[str, Any]: ...


ClientFactory = Callable[[EcrTarget], EcrScanClient]


@dataclass(frozen=True)
class AwsCredentials:
    """How the default client finds credentials, mirroring the stack's `aws:` config.

    `profile` is `aws:profile` (None: boto3's default chain, as the provider uses);
    `allowed_account_ids` is `aws:allowedAccountIds`: the caller's account must be one of them.
    """

    profile: str | None = None
    allowed_account_ids: tuple[str, ...] = ()


def boto3_client_factory(credentials: AwsCredentials) -> ClientFactory:
    """A factory building a boto3 ECR client in the target's region, after checking the caller.

    The caller account (STS GetCallerIdentity) must be in `allowed_account_ids` when that is
    set, as the AWS provider itself requires; otherwise ScanGateError names both.
    """

    def build(target: EcrTarget) -> EcrScanClient:
        # Imported here: only the deploy path needs boto3.
        import boto3
        from botocore.config import Config

        session = boto3.Session(profile_name=credentials.profile, region_name=target.region)
        if credentials.allowed_account_ids:
            caller = session.client("sts").get_caller_identity()["Account"]
            check_account(caller, credentials.allowed_account_ids)
        # Standard retries absorb ThrottlingException while many updates poll at once.
        retries = Config(retries={"mode": "standard", "max_attempts": 8})
        client: EcrScanClient = session.client("ecr", config=retries)
        return client

    return build


def check_account(caller: str, allowed: Sequence[str]) -> None:
    """Refuse credentials from an account that `aws:allowedAccountIds` does not list."""
    if caller not in allowed:
        raise ScanGateError(
            f"scan gate: credentials belong to account {caller}, which aws:allowedAccountIds "
            f"({', '.join(allowed)}) does not list"
        )


def page_fetcher(client: EcrScanClient, target: EcrTarget, digest: str) -> FetchPage:
    """Fetch one DescribeImageScanFindings page for `digest` in `target`'s registry.

    ScanNotFoundException (the scan has not started yet, just after a push) reads as PENDING,
    so the gate keeps waiting; any other error fails closed, naming the digest and the code.
    """

    def fetch(token: str | None) -> Mapping[str, Any]:
        request: dict[str, Any] = {
            "registryId": target.account,
            "repositoryName": target.repository,
            "imageId": {"imageDigest": digest},
            "maxResults": 1000,
        }
        if token is not None:
            request["nextToken"] = token
        try:
            return client.describe_image_scan_findings(**request)
        except Exception as exc:
            code, message = _error(exc)
            if code == "ScanNotFoundException":
                return {
                    "imageId": {"imageDigest": digest},
                    "imageScanStatus": {"status": "PENDING", "description": f"{code}: {message}"},
                }
            raise ScanGateError(
                f"scan gate: image {digest}: DescribeImageScanFindings in "
                f"{target.account}/{target.region} failed: {code}: {message}"
            ) from exc

    return fetch


def _error(exc: Exception) -> tuple[str, str]:
    # botocore's ClientError carries `response["Error"]`; anything else is named by its class.
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error", {})
        return str(error.get("Code", type(exc).__name__)), str(error.get("Message", exc))
    return type(exc).__name__, str(exc)
