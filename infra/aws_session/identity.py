"""Who the program's AWS calls run as: the boto3 session built from the stack's `aws:` config.

The provider's order (https://www.pulumi.com/registry/packages/aws/installation-configuration/):
static keys, else a profile with the shared files, else the default chain; then the web-identity
role and each `assumeRoles` hop in turn, each refreshing on its own (botocore's fetchers), so a
long scan wait outlives a 15-minute role session. Used only by `infra.aws_session`.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
import botocore.credentials
import botocore.session
from botocore.config import Config

from infra.aws_config import AwsConfig, RoleToAssume
from infra.aws_types import AwsCallError

# Standard retries absorb ThrottlingException while many updates poll at once.
DEFAULT_MAX_ATTEMPTS = 8


def client_options(config: AwsConfig, service: str, *, retry: bool = True) -> dict[str, Any]:
    """boto3 client arguments for `service`: endpoint, retries, proxies, FIPS, dual-stack, TLS."""
    proxies = {
        scheme: url
        for scheme, url in (("http", config.http_proxy), ("https", config.https_proxy))
        if url
    }
    options: dict[str, Any] = {
        "config": Config(
            retries={
                "mode": config.retry_mode or "standard",
                # The first attempt included, as the provider counts maxRetries + 1.
                "total_max_attempts": (
                    1
                    if not retry
                    else config.max_retries + 1
                    if config.max_retries is not None
                    else DEFAULT_MAX_ATTEMPTS
                ),
            },
            proxies=proxies or None,
            use_fips_endpoint=config.use_fips_endpoint,
            use_dualstack_endpoint=config.use_dualstack_endpoint,
        )
    }
    if service in config.endpoints:
        options["endpoint_url"] = config.endpoints[service]
    if config.insecure:
        options["verify"] = False
    elif config.custom_ca_bundle:
        options["verify"] = config.custom_ca_bundle
    return options


def build_session(config: AwsConfig) -> boto3.Session:
    """The boto3 session the provider would run as: static keys or profile and shared files,
    then the web-identity role and the `assumeRoles` chain."""
    core = botocore.session.Session()
    for variable, value in (
        ("config_file", config.shared_config_file),
        ("credentials_file", config.shared_credentials_file),
        ("ec2_metadata_service_endpoint", config.ec2_metadata_service_endpoint),
        ("ec2_metadata_service_endpoint_mode", config.ec2_metadata_service_endpoint_mode),
    ):
        if value:
            core.set_config_variable(variable, value)
    if config.skip_metadata_api_check:
        # The provider then never asks the instance metadata service for credentials.
        core.get_component("credential_provider").remove("iam-role")
    keys: dict[str, Any] = {}
    if config.access_key:
        keys = {
            "aws_access_key_id": config.access_key,
            "aws_secret_access_key": config.secret_key,
            "aws_session_token": config.token,
        }
    base = boto3.Session(
        botocore_session=core,
        profile_name=None if keys else config.profile,
        region_name=config.region,
        **keys,
    )
    hops = [config.web_identity] if config.web_identity else []
    hops += list(config.assume_roles)
    if not hops:
        return base
    credentials = _assume_chain(config, base, hops)
    chained = botocore.session.Session()
    resolver = botocore.credentials.CredentialResolver([_Fixed(credentials)])
    chained.register_component("credential_provider", resolver)
    return boto3.Session(botocore_session=chained, region_name=config.region)


def _assume_chain(config: AwsConfig, base: boto3.Session, hops: list[RoleToAssume]) -> Any:
    """Each hop's credentials come from the previous one, as the provider chains roles."""
    sts_region = config.sts_region or config.region or "us-east-1"
    creator = functools.partial(
        base._session.create_client,
        region_name=sts_region,
        **client_options(config, "sts"),
    )
    credentials = base.get_credentials()
    for hop in hops:
        if hop.web_identity_token or hop.web_identity_token_file:
            token = hop.web_identity_token
            loader = (
                (lambda token=token: token)
                if token
                else botocore.credentials.FileWebIdentityTokenLoader(hop.web_identity_token_file)
            )
            fetcher: Any = botocore.credentials.AssumeRoleWithWebIdentityCredentialFetcher(
                creator, loader, hop.role_arn, extra_args=dict(hop.extra_args)
            )
        else:
            if credentials is None:
                raise AwsCallError(
                    "AssumeRole",
                    "NoCredentialsError",
                    f"no base credentials to assume {hop.role_arn} with",
                    no_credentials=True,
                )
            fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
                creator, credentials, hop.role_arn, extra_args=dict(hop.extra_args)
            )
        credentials = botocore.credentials.DeferredRefreshableCredentials(
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )
    return credentials


class _Fixed(botocore.credentials.CredentialProvider):  # type: ignore[misc]
    """A credential provider that hands out the assumed-role chain's credentials."""

    METHOD = "assume-role-chain"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials
