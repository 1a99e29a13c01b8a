"""Stack configuration: one frozen args object, validated before any resource is declared.

Pure Python (no Pulumi import) so every rule can be tested directly. `load_args` takes the raw
values of the `retail-registry:` namespace — strings as the Pulumi engine hands them over, or
already-parsed YAML values as they stand in `Pulumi.<stack>.yaml` — and either returns a
`RetailRegistryArgs` or raises one `ConfigError` naming the key, the value and the rule.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from infra import lifecycle
from infra.config_values import PARSERS, PROJECT, ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVER_DIR = PROJECT_ROOT / "server"

MAX_MUTABLE_TAG_FILTERS = 5

# The seed's intent, made explicit: untagged layers go after a day, releases (`v*`) keep their
# ten newest, content tags (`sha-*`, one per build) keep a bounded history for rollback.
DEFAULT_LIFECYCLE_RULES: tuple[dict[str, Any], ...] = (
    {
        "rulePriority": 1,
        "description": "Expire untagged images one day after push",
        "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 1,
        },
        "action": {"type": "expire"},
    },
    {
        "rulePriority": 2,
        "description": "Keep the 10 newest release images (v*)",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["v*"],
            "countType": "imageCountMoreThan",
            "countNumber": 10,
        },
        "action": {"type": "expire"},
    },
    {
        "rulePriority": 3,
        "description": "Keep the 30 newest content-tagged builds (sha-*)",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["sha-*"],
            "countType": "imageCountMoreThan",
            "countNumber": 30,
        },
        "action": {"type": "expire"},
    },
)


@dataclass(frozen=True)
class RetailRegistryArgs:
    """Everything the RetailRegistry component needs; each default is the safe choice."""

    stack: str
    """Pulumi stack name; tagged onto the repository."""
    repository_name: str = "mlops/retail-api"
    """ECR repository name: lowercase, `/`-separated path components, 2-256 characters."""
    tag_mutability: str = "IMMUTABLE"
    """One of TAG_MUTABILITY_MODES; immutable tags make a deployed tag mean one image forever."""
    mutable_tags: tuple[str, ...] = ()
    """Wildcard filters exempt from the mutability setting; only with *_WITH_EXCLUSION modes."""
    scan_on_push: bool = True
    """Basic vulnerability scan of every pushed image."""
    kms_key_arn: str | None = None
    """Customer-managed KMS key for encryption at rest; None means AES256."""
    force_delete: bool = False
    """Let `pulumi destroy` delete a repository that still holds images."""
    protect: bool = True
    """Pulumi `protect` on the repository, so a stray destroy or replace fails."""
    pull_principals: tuple[str, ...] = ()
    """IAM role/user/account-root ARNs allowed to pull."""
    push_principals: tuple[str, ...] = ()
    """IAM ARNs allowed to push (and therefore pull)."""
    pull_organization_ids: tuple[str, ...] = ()
    """AWS Organization IDs whose principals may pull."""
    lifecycle_rules: tuple[dict[str, Any], ...] = DEFAULT_LIFECYCLE_RULES
    """ECR lifecycle rules, exactly as in ECR's lifecycle-policy JSON."""
    image_platform: str = "linux/amd64"
    """Build platform of the API image."""
    image_tag: str | None = None
    """Override for the content tag; None derives `sha-<12 hex>` from the build inputs."""
    build_context: Path = SERVER_DIR
    """Docker build context (not stack config: the program always builds `server/`)."""
    dockerfile: Path = SERVER_DIR / "Dockerfile"
    """Dockerfile inside the build context."""
    lifecycle_warnings: tuple[str, ...] = field(default=(), compare=False)
    """Validator warnings about the lifecycle rules: legal, probably not meant."""


# Config key -> dataclass field. The keys are the public interface declared in Pulumi.yaml.
CONFIG_KEYS: dict[str, str] = {
    "repositoryName": "repository_name",
    "tagMutability": "tag_mutability",
    "mutableTags": "mutable_tags",
    "scanOnPush": "scan_on_push",
    "kmsKeyArn": "kms_key_arn",
    "forceDelete": "force_delete",
    "protect": "protect",
    "pullPrincipals": "pull_principals",
    "pushPrincipals": "push_principals",
    "pullOrganizationIds": "pull_organization_ids",
    "lifecycleRules": "lifecycle_rules",
    "imagePlatform": "image_platform",
    "imageTag": "image_tag",
}


def default_config() -> dict[str, Any]:
    """The default of every config key, in the JSON form Pulumi.yaml declares it ("" = unset)."""
    defaults = {f.name: f.default for f in fields(RetailRegistryArgs)}
    result: dict[str, Any] = {}
    for key, attr in CONFIG_KEYS.items():
        value = defaults[attr]
        if value is None:
            result[key] = ""
        elif isinstance(value, tuple):
            result[key] = [dict(item) if isinstance(item, dict) else item for item in value]
        else:
            result[key] = value
    return result


def load_args(values: Mapping[str, Any], *, stack: str) -> RetailRegistryArgs:
    """Validate raw config values of the project namespace (keys without the prefix)."""
    unknown = sorted(set(values) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(
            unknown[0], values[unknown[0]], f"unknown key; known keys: {', '.join(CONFIG_KEYS)}"
        )
    parsed: dict[str, Any] = {}
    for key, value in values.items():
        if value is not None:
            parsed[CONFIG_KEYS[key]] = PARSERS[key](key, value)
    args = RetailRegistryArgs(stack=stack, **parsed)
    _check_mutable_tags(args)
    _check_image_tag(args)
    return _with_lifecycle_findings(args)


def read_stack_config(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The project-namespace values of `Pulumi.<stack>.yaml`, keys without the prefix."""
    path = root / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = document.get("config") or {}
    prefix = f"{PROJECT}:"
    return {
        key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)
    }


def resource_tags(stack: str) -> dict[str, str]:
    return {"project": PROJECT, "stack": stack, "managed-by": "pulumi"}


# --- rules across keys -------------------------------------------------------------------------


def _check_mutable_tags(args: RetailRegistryArgs) -> None:
    with_exclusion = args.tag_mutability.endswith("_WITH_EXCLUSION")
    if with_exclusion and not args.mutable_tags:
        raise ConfigError(
            "mutableTags",
            [],
            f"required (1-{MAX_MUTABLE_TAG_FILTERS} filters) with {args.tag_mutability}",
        )
    if not with_exclusion and args.mutable_tags:
        raise ConfigError(
            "mutableTags",
            list(args.mutable_tags),
            f"only allowed with a *_WITH_EXCLUSION tagMutability, not {args.tag_mutability}",
        )
    if len(args.mutable_tags) > MAX_MUTABLE_TAG_FILTERS:
        raise ConfigError(
            "mutableTags", list(args.mutable_tags), f"at most {MAX_MUTABLE_TAG_FILTERS} filters"
        )


def tag_is_immutable(tag: str, mode: str, exclusion_filters: tuple[str, ...]) -> bool:
    """Whether ECR refuses a second push of `tag`: the filters invert the mode for the tags
    they match. They only use `*` wildcards, which fnmatch reads the same way."""
    excluded = any(fnmatch.fnmatchcase(tag, pattern) for pattern in exclusion_filters)
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if mode == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return mode == "IMMUTABLE"


def _check_image_tag(args: RetailRegistryArgs) -> None:
    # A moving tag in an immutable repository is accepted once and refused on every later push.
    if args.image_tag == "latest" and tag_is_immutable(
        "latest", args.tag_mutability, args.mutable_tags
    ):
        raise ConfigError(
            "imageTag",
            "latest",
            f"`latest` is immutable under tagMutability {args.tag_mutability} and could be "
            "pushed only once; use a content or release tag, or exclude it with mutableTags",
        )


def _with_lifecycle_findings(args: RetailRegistryArgs) -> RetailRegistryArgs:
    findings = lifecycle.validate({"rules": list(args.lifecycle_rules)})
    if not findings.ok:
        raise ConfigError(
            "lifecycleRules",
            list(args.lifecycle_rules),
            "ECR would reject these rules: " + "; ".join(findings.errors),
        )
    return replace(args, lifecycle_warnings=findings.warnings)
