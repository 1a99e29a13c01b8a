"""The stack's `aws:` config, read the way the AWS provider reads it, for the program's boto3 calls.

Pure: no Pulumi, no boto3. `parse_aws_config` takes the `aws:` namespace (keys without the
prefix; engine strings or YAML values) and returns `AwsConfig`, which `infra.aws_session`
turns into one boto3 session. Keys follow pulumi-aws's provider schema
(https://www.pulumi.com/registry/packages/aws/installation-configuration/). Every key that
changes who calls AWS or where the call goes is honoured or refused here, naming the key, so
`preview` fails before anything is pushed; keys that shape only resources (`defaultTags`, …)
do not touch these calls and are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Keys that do not change these calls' identity, destination or transport.
IGNORED_KEYS = frozenset(
    {
        "defaultTags",
        "ignoreTags",
        "s3UsEast1RegionalEndpoint",
        "s3UsePathStyle",
        "skipCredentialsValidation",
        "skipRegionValidation",
        "skipRequestingAccountId",
        "tagPolicyCompliance",
        "tokenBucketRateLimiterCapacity",
        "userAgents",
    }
)
# Keys botocore cannot follow: refused, so boto3 never calls as someone the provider is not.
REFUSED_KEYS = {
    "noProxy": "botocore takes proxies per scheme but no list of hosts that bypass them",
}
# The services the program calls outside the provider; other `endpoints` entries are ignored.
ENDPOINT_SERVICES = ("ecr", "sts", "inspector2")
RETRY_MODES = ("standard", "adaptive", "legacy")
_ACCOUNT = re.compile(r"\d{12}")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_ROLE_KEYS = {
    "roleArn": "RoleArn",
    "sessionName": "RoleSessionName",
    "externalId": "ExternalId",
    "duration": "DurationSeconds",
    "policy": "Policy",
    "policyArns": "PolicyArns",
    "sourceIdentity": "SourceIdentity",
    "tags": "Tags",
    "transitiveTagKeys": "TransitiveTagKeys",
}
_WEB_IDENTITY_KEYS = ("roleArn", "sessionName", "duration", "policy", "policyArns")
_WEB_TOKEN_KEYS = ("webIdentityToken", "webIdentityTokenFile")


class AwsConfigError(ValueError):
    """An `aws:` value the program's AWS calls cannot follow; names the key and the rule."""

    def __init__(self, key: str, rule: str) -> None:
        super().__init__(f"aws:{key}: {rule}")
        self.key = key


@dataclass(frozen=True)
class RoleToAssume:
    """One `sts:AssumeRole` (or AssumeRoleWithWebIdentity) hop, as STS takes its arguments."""

    role_arn: str
    extra_args: dict[str, Any] = field(default_factory=dict)
    """RoleSessionName, ExternalId, DurationSeconds, Policy, PolicyArns, Tags, … as given."""
    web_identity_token: str | None = None
    web_identity_token_file: str | None = None


@dataclass(frozen=True)
class AwsConfig:
    """Who the program's boto3 calls run as, and where they go: the provider's own settings."""

    region: str | None = None
    profile: str | None = None
    shared_config_file: str | None = None
    shared_credentials_file: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None
    web_identity: RoleToAssume | None = None
    assume_roles: tuple[RoleToAssume, ...] = ()
    endpoints: dict[str, str] = field(default_factory=dict)
    sts_region: str | None = None
    allowed_account_ids: tuple[str, ...] = ()
    forbidden_account_ids: tuple[str, ...] = ()
    max_retries: int | None = None
    retry_mode: str | None = None
    custom_ca_bundle: str | None = None
    insecure: bool = False
    http_proxy: str | None = None
    https_proxy: str | None = None
    use_fips_endpoint: bool = False
    use_dualstack_endpoint: bool = False
    ec2_metadata_service_endpoint: str | None = None
    ec2_metadata_service_endpoint_mode: str | None = None
    skip_metadata_api_check: bool = False


def parse_aws_config(values: Mapping[str, Any]) -> AwsConfig:
    """`AwsConfig` from the `aws:` namespace; AwsConfigError naming the first key it refuses."""
    for key in sorted(values):
        if key in REFUSED_KEYS and values[key] not in (None, "", []):
            raise AwsConfigError(key, f"not supported: {REFUSED_KEYS[key]}; remove it")
        if key not in _PARSERS and key not in IGNORED_KEYS and key not in REFUSED_KEYS:
            raise AwsConfigError(
                key,
                "unknown to this program, so its AWS calls could not follow it; known keys: "
                + ", ".join(sorted(_PARSERS)),
            )
    parsed = {
        _PARSERS[key][0]: _PARSERS[key][1](key, value)
        for key, value in values.items()
        if key in _PARSERS and value not in (None, "")
    }
    config = AwsConfig(**parsed)
    if bool(config.access_key) != bool(config.secret_key):
        missing = "secretKey" if config.access_key else "accessKey"
        raise AwsConfigError(missing, "accessKey and secretKey are set together or not at all")
    overlap = set(config.allowed_account_ids) & set(config.forbidden_account_ids)
    if config.allowed_account_ids and config.forbidden_account_ids:
        raise AwsConfigError(
            "forbiddenAccountIds",
            "set allowedAccountIds or forbiddenAccountIds, not both"
            + (f" ({', '.join(sorted(overlap))} is in both)" if overlap else ""),
        )
    return config


def duration_seconds(key: str, text: str) -> int:
    """A Go duration (`1h`, `15m`, `1h30m`, `900s`) in whole seconds, 15 minutes to 12 hours."""
    if not _DURATION.fullmatch(text) and not re.fullmatch(f"(?:{_DURATION.pattern})+", text):
        raise AwsConfigError(key, f"{text!r} is not a duration like 1h, 15m or 900s")
    seconds = sum(float(n) * _SECONDS[unit] for n, unit in _DURATION.findall(text))
    if not 900 <= seconds <= 43200:
        raise AwsConfigError(key, f"{text!r} must be between 15m and 12h (STS's range)")
    return int(seconds)


# --- one parser per kind of value -------------------------------------------------------------


def _structured(key: str, value: Any) -> Any:
    # The engine hands objects and lists to a program as JSON strings.
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise AwsConfigError(key, f"not valid JSON ({exc.msg} at {exc.pos})") from None
    return value


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise AwsConfigError(key, f"must be a string, not {type(value).__name__}")
    return str(value)


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise AwsConfigError(key, f"{value!r} must be true or false")


def _count(key: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise AwsConfigError(key, f"{value!r} must be a whole number") from None
    if isinstance(value, bool) or not 0 <= number <= 100:
        raise AwsConfigError(key, f"{value!r} must be 0-100")
    return number


def _one_file(key: str, value: Any) -> str:
    files = _structured(key, value)
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise AwsConfigError(key, "must be a list of file paths")
    if len(files) != 1:
        # botocore reads one shared config file and one credentials file (AWS_CONFIG_FILE,
        # AWS_SHARED_CREDENTIALS_FILE); merging several would be this program's own guess.
        raise AwsConfigError(key, f"list {len(files)} files; botocore reads exactly one")
    return str(files[0])


def _accounts(key: str, value: Any) -> tuple[str, ...]:
    items = _structured(key, value)
    if not isinstance(items, list):
        raise AwsConfigError(key, "must be a list of 12-digit account ids")
    accounts = tuple(str(a) for a in items)
    bad = [a for a in accounts if not _ACCOUNT.fullmatch(a)]
    if bad:
        raise AwsConfigError(key, f"{bad[0]!r} is not a 12-digit account id")
    return accounts


def _choice(*choices: str) -> Any:
    def parse(key: str, value: Any) -> str:
        text = _text(key, value)
        if text not in choices:
            raise AwsConfigError(key, f"{text!r} is not one of {', '.join(choices)}")
        return text

    return parse


def _endpoints(key: str, value: Any) -> dict[str, str]:
    items = _structured(key, value)
    # The provider's schema has a list of one object; a bare object is read the same way.
    blocks = items if isinstance(items, list) else [items]
    found: dict[str, str] = {}
    for number, block in enumerate(blocks):
        if not isinstance(block, Mapping):
            raise AwsConfigError(f"{key}[{number}]", "must be an object of service: URL")
        for service in ENDPOINT_SERVICES:
            url = block.get(service)
            if url in (None, ""):
                continue
            if not isinstance(url, str) or not re.match(r"https?://[^\s/]+", url):
                raise AwsConfigError(f"{key}[{number}].{service}", f"{url!r} is not a URL")
            found[service] = url
    return found


def _role(key: str, value: Any, allowed: tuple[str, ...]) -> RoleToAssume:
    if not isinstance(value, Mapping):
        raise AwsConfigError(key, "must be an object with roleArn")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise AwsConfigError(f"{key}.{unknown[0]}", f"unknown; known: {', '.join(allowed)}")
    role_arn = value.get("roleArn")
    if not isinstance(role_arn, str) or not _ROLE_ARN.fullmatch(role_arn):
        raise AwsConfigError(
            f"{key}.roleArn", f"{role_arn!r} is not arn:aws:iam::<12 digits>:role/…"
        )
    extra: dict[str, Any] = {}
    for name, sts_name in _ROLE_KEYS.items():
        raw = value.get(name)
        if name == "roleArn" or raw in (None, "", []) or name not in allowed:
            continue
        where = f"{key}.{name}"
        if name == "duration":
            extra[sts_name] = duration_seconds(where, _text(where, raw))
        elif name == "policyArns":
            extra[sts_name] = [{"arn": _text(where, arn)} for arn in _list(where, raw)]
        elif name == "tags":
            if not isinstance(raw, Mapping):
                raise AwsConfigError(where, "must be an object of tag: value")
            extra[sts_name] = [{"Key": str(k), "Value": str(v)} for k, v in raw.items()]
        elif name == "transitiveTagKeys":
            extra[sts_name] = [_text(where, item) for item in _list(where, raw)]
        else:
            extra[sts_name] = _text(where, raw)
    token = value.get("webIdentityToken")
    token_file = value.get("webIdentityTokenFile")
    return RoleToAssume(
        role_arn,
        extra,
        web_identity_token=_text(key, token) if token else None,
        web_identity_token_file=_text(key, token_file) if token_file else None,
    )


def _list(key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise AwsConfigError(key, "must be a list")
    return value


def _assume_roles(key: str, value: Any) -> tuple[RoleToAssume, ...]:
    items = _structured(key, value)
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        raise AwsConfigError(key, "must be a list of {roleArn, sessionName, externalId, …}")
    allowed = tuple(_ROLE_KEYS)
    return tuple(_role(f"{key}[{i}]", item, allowed) for i, item in enumerate(items))


def _web_identity(key: str, value: Any) -> RoleToAssume:
    role = _role(key, _structured(key, value), (*_WEB_IDENTITY_KEYS, *_WEB_TOKEN_KEYS))
    if not (role.web_identity_token or role.web_identity_token_file):
        raise AwsConfigError(key, "needs webIdentityToken or webIdentityTokenFile")
    return role


_PARSERS: dict[str, tuple[str, Any]] = {
    "region": ("region", _text),
    "profile": ("profile", _text),
    "sharedConfigFiles": ("shared_config_file", _one_file),
    "sharedCredentialsFiles": ("shared_credentials_file", _one_file),
    "accessKey": ("access_key", _text),
    "secretKey": ("secret_key", _text),
    "token": ("token", _text),
    "assumeRoleWithWebIdentity": ("web_identity", _web_identity),
    "assumeRoles": ("assume_roles", _assume_roles),
    "endpoints": ("endpoints", _endpoints),
    "stsRegion": ("sts_region", _text),
    "allowedAccountIds": ("allowed_account_ids", _accounts),
    "forbiddenAccountIds": ("forbidden_account_ids", _accounts),
    "maxRetries": ("max_retries", _count),
    "retryMode": ("retry_mode", _choice(*RETRY_MODES)),
    "customCaBundle": ("custom_ca_bundle", _text),
    "insecure": ("insecure", _flag),
    "httpProxy": ("http_proxy", _text),
    "httpsProxy": ("https_proxy", _text),
    "useFipsEndpoint": ("use_fips_endpoint", _flag),
    "useDualstackEndpoint": ("use_dualstack_endpoint", _flag),
    "ec2MetadataServiceEndpoint": ("ec2_metadata_service_endpoint", _text),
    "ec2MetadataServiceEndpointMode": (
        "ec2_metadata_service_endpoint_mode",
        _choice("IPv4", "IPv6"),
    ),
    "skipMetadataApiCheck": ("skip_metadata_api_check", _flag),
}
