"""Registry credentials and the challenge a registry answers `/v2/` with (Basic or Bearer).

ECR answers with Basic: user `AWS`, the GetAuthorizationToken password, valid 12 hours
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html), fetched here at
run time and held in memory only. Other registries (a local `docker-registry`, a token server)
take a user and password given by the caller. The Bearer exchange follows the distribution
token spec (https://distribution.github.io/distribution/spec/auth/token/).
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from infra.aws_config import AwsConfig, RoleToAssume
from infra.aws_session import AwsSession
from infra.promotion.refs import Repository

TIMEOUT_SECONDS = 60
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    """A registry login. `repr` leaves the password out, so it never reaches a log line."""

    username: str
    password: str = dataclasses.field(repr=False)


class RegistryAuthError(Exception):
    """The registry refused the login, or its challenge is not one this client speaks."""


def ecr_credentials(session: AwsSession, repository: Repository) -> Credentials:
    """ECR's Basic login for the repository's registry, fetched now from the AWS session."""
    registry = repository.ecr
    if registry is None:
        raise RegistryAuthError(f"{repository.host} is not an ECR registry host")
    user, password, _ = session.authorization_token(*registry)
    return Credentials(user, password)


def authorization(
    http: requests.Session,
    base_url: str,
    credentials: Credentials | None,
    scopes: Sequence[str],
) -> str | None:
    """The `Authorization` header value for requests on `scopes`, learnt from `/v2/`'s answer.

    None when the registry asks for nothing."""
    probe = http.get(f"{base_url}/v2/", timeout=TIMEOUT_SECONDS)
    if probe.status_code != 401:
        return None
    scheme, _, params = probe.headers.get("WWW-Authenticate", "").partition(" ")
    if credentials is None:
        raise RegistryAuthError(f"{base_url} asks for {scheme or 'a'} login and none was given")
    basic = (
        "Basic "
        + base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    )
    if scheme.lower() == "basic":
        return basic
    if scheme.lower() != "bearer":
        raise RegistryAuthError(f"{base_url}: unsupported challenge {scheme!r}")
    challenge = dict(_PARAM.findall(params))
    if "realm" not in challenge:
        raise RegistryAuthError(f"{base_url}: Bearer challenge without a realm")
    query: list[tuple[str, str]] = [("scope", scope) for scope in scopes]
    if "service" in challenge:
        query.append(("service", challenge["service"]))
    answer = http.get(
        challenge["realm"],
        params=query,
        headers={"Authorization": basic},
        timeout=TIMEOUT_SECONDS,
    )
    if answer.status_code != 200:
        raise RegistryAuthError(f"{base_url}: token service answered {answer.status_code}")
    body = answer.json()
    token = body.get("token") or body.get("access_token")
    if not isinstance(token, str):
        raise RegistryAuthError(f"{base_url}: token service answered without a token")
    return f"Bearer {token}"


def aws_config_document(config: AwsConfig) -> dict[str, Any]:
    """`config` as JSON-ready data, for a secret input; `aws_config_from_document` reverses it."""
    return dataclasses.asdict(config)


def aws_config_from_document(document: Mapping[str, Any]) -> AwsConfig:
    """The `AwsConfig` `aws_config_document` wrote (lists back to tuples, roles to objects)."""
    values = dict(document)
    web = values.get("web_identity")
    values["web_identity"] = RoleToAssume(**web) if web else None
    values["assume_roles"] = tuple(RoleToAssume(**hop) for hop in values.get("assume_roles", ()))
    for key in ("allowed_account_ids", "forbidden_account_ids"):
        values[key] = tuple(values.get(key, ()))
    return AwsConfig(**values)
