"""Pure checks behind the CrossGuard policies.

Each check takes a resource's property dict (Pulumi camelCase, as the policy SDK sees it) and
returns violation messages; an empty list means compliant. Nothing here imports the policy SDK,
so the checks run in plain unit tests and in the pack alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from infra.lifecycle import LifecycleAnalysis, analyse

REPOSITORY_TYPE = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY_TYPE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY_TYPE = "aws:ecr/repositoryPolicy:RepositoryPolicy"
DOCKER_IMAGE_TYPE = "docker:index/image:Image"

IMMUTABLE_MODES = frozenset({"IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"})
# EncryptionConfiguration.encryptionType is AES256 (the default), KMS, or KMS_DSSE (two layers,
# both under a KMS key): the two KMS kinds give key-policy control and audit, AES256 does not.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_EncryptionConfiguration.html
KMS_TYPES = frozenset({"KMS", "KMS_DSSE"})
PROTECTED_STACK = "prod"


@dataclass(frozen=True)
class StackResource:
    """The slice of a stack resource that the stack-level check needs."""

    resource_type: str
    urn: str
    props: Mapping[str, Any]


def check_tag_immutability(props: Mapping[str, Any]) -> list[str]:
    mode = props.get("imageTagMutability") or "MUTABLE"
    if mode not in IMMUTABLE_MODES:
        allowed = " or ".join(sorted(IMMUTABLE_MODES))
        return [f"imageTagMutability is {mode!r}; it must be {allowed} so a tag never moves."]
    filters = as_list(props.get("imageTagMutabilityExclusionFilters"))
    # An exclusion filter made only of wildcards exempts every tag: MUTABLE in disguise.
    return [
        f"imageTagMutabilityExclusionFilters[{i}].filter {f.get('filter')!r} matches every "
        "tag; exclude specific patterns such as 'latest' or 'dev-*'."
        for i, f in enumerate(filters)
        if isinstance(f, Mapping) and not str(f.get("filter") or "").strip("*")
    ]


def check_scan_on_push(props: Mapping[str, Any]) -> list[str]:
    scanning = props.get("imageScanningConfiguration") or {}
    if scanning.get("scanOnPush") is True:
        return []
    return ["imageScanningConfiguration.scanOnPush must be true so every pushed image is scanned."]


def parse_policy_text(field: str, text: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """Parses a JSON policy property, returning (document, errors)."""
    if not isinstance(text, str) or not text.strip():
        return None, [f"{field} must be a non-empty JSON document."]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"{field} is not valid JSON: {exc.msg} at line {exc.lineno}."]
    if not isinstance(document, dict):
        return None, [f"{field} must be a JSON object, got {type(document).__name__}."]
    return document, []


def check_lifecycle_policy(props: Mapping[str, Any]) -> list[str]:
    analysis, errors = lifecycle_analysis(props.get("policy"))
    if analysis is None:
        return errors
    return [f"policy rejected by the lifecycle validator: {e}" for e in analysis.errors]


def lifecycle_policy_warnings(props: Mapping[str, Any]) -> list[str]:
    analysis, _ = lifecycle_analysis(props.get("policy"))
    if analysis is None:
        # The mandatory check already reports unparseable documents.
        return []
    return [f"lifecycle validator warning: {w}" for w in analysis.warnings]


def lifecycle_analysis(text: Any) -> tuple[LifecycleAnalysis | None, list[str]]:
    """The analysis of one LifecyclePolicy's `policy` text, or why it could not be read.

    Three policies read each lifecycle policy (valid, warnings, and the stack check); the cache
    makes that one parse and one `analyse` per distinct policy text, i.e. once per resource.
    """
    if not isinstance(text, str):
        # Unhashable, so not cached: parse_policy_text only reports why it is not text.
        return None, parse_policy_text("policy", text)[1]
    analysis, errors = _analyse_text(text)
    return analysis, list(errors)


@lru_cache(maxsize=64)
def _analyse_text(text: str) -> tuple[LifecycleAnalysis | None, tuple[str, ...]]:
    document, errors = parse_policy_text("policy", text)
    if document is None:
        return None, tuple(errors)
    return analyse(document), ()


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def check_image_platform(props: Mapping[str, Any]) -> list[str]:
    build = props.get("build") or {}
    platform = build.get("platform") if isinstance(build, Mapping) else None
    if isinstance(platform, str) and platform.strip():
        return []
    return ["build.platform must be set (e.g. 'linux/amd64') so the image matches the nodes."]


def check_kms_encryption(props: Mapping[str, Any]) -> list[str]:
    configs = as_list(props.get("encryptionConfigurations"))
    kinds = {c.get("encryptionType") for c in configs if isinstance(c, Mapping)} - {None}
    if kinds & KMS_TYPES:
        return []
    found = " or ".join(sorted(str(kind) for kind in kinds)) or "AES256 (the default)"
    return [
        f"encryptionConfigurations uses {found}; KMS or KMS_DSSE gives key policy control "
        "and audit."
    ]


def stack_from_urn(urn: str) -> str:
    """Returns the stack name from 'urn:pulumi:<stack>::<project>::<type>::<name>'."""
    parts = urn.split(":", 2)
    if len(parts) < 3 or parts[0] != "urn" or parts[1] != "pulumi":
        raise ValueError(f"urn {urn!r} is not a Pulumi URN (urn:pulumi:<stack>::...)")
    return parts[2].split("::", 1)[0]


def check_force_delete(props: Mapping[str, Any], stack: str) -> list[str]:
    if stack == PROTECTED_STACK and props.get("forceDelete") is True:
        return [f"forceDelete is true on stack {stack!r}; destroy would delete every image."]
    return []


def _by_type(resources: Iterable[StackResource], resource_type: str) -> list[StackResource]:
    return [r for r in resources if r.resource_type == resource_type]


def check_repositories_have_lifecycle(
    resources: Sequence[StackResource],
) -> list[tuple[str, str]]:
    """Returns (urn, message) for each repository without an accepted lifecycle policy."""
    accepted: set[Any] = set()
    attached: set[Any] = set()
    for lifecycle in _by_type(resources, LIFECYCLE_POLICY_TYPE):
        repository = lifecycle.props.get("repository")
        attached.add(repository)
        analysis, _ = lifecycle_analysis(lifecycle.props.get("policy"))
        if analysis is not None and analysis.ok:
            accepted.add(repository)
    found: list[tuple[str, str]] = []
    for repo in _by_type(resources, REPOSITORY_TYPE):
        name = repo.props.get("name")
        if name in accepted:
            continue
        if name in attached:
            message = f"repository {name!r}: its lifecycle policy is rejected by the validator."
        else:
            message = f"repository {name!r} has no LifecyclePolicy; old images never expire."
        found.append((repo.urn, message))
    return found
