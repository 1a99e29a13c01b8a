"""The offline plan as text: each declared resource with the settings that matter, then the
stack outputs the EKS project reads.

Pure: takes what `infra.offline_run` recorded and the loaded settings, returns lines. A value
only `up` can know (the pushed image's digest, the scan verdict, the SBOM hash) is written as
such, never as the placeholder the offline run used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from infra.config import RetailRegistryArgs
from infra.lifecycle import Rule

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
IMAGE = "docker:index/image:Image"
PROMOTION = "pulumi-python:dynamic/promotion:RegistryCopy"
OFFLINE_DIGEST = "sha256:" + "0" * 64
AFTER_UP = "(known after `up`)"
# The outputs examples/eks-consumer reads through its StackReference (README, "Stack outputs").
EKS_OUTPUTS = (
    "repositoryName",
    "repositoryUrl",
    "repositoryArn",
    "registryId",
    "region",
    "imageTag",
    "imageUri",
    "imageDigest",
    "imageRef",
    "imageScan",
    "imageSbomSha256",
    "imagePlatformDigests",
)


def plan_lines(
    resources: Sequence[tuple[str, str, bool, Mapping[str, Any]]],
    exports: Mapping[str, Any],
    args: RetailRegistryArgs,
) -> list[str]:
    """`resources`: (type, name, protect, inputs) in declaration order."""
    lines = ["resources (a first deploy: the repository does not exist yet):"]
    for type_, name, protect, inputs in resources:
        lines.append(f"  + {type_}  {name}")
        lines.extend(f"      {detail}" for detail in _details(type_, protect, inputs, args))
    lines.append("outputs the EKS project reads:")
    lines.extend(f"  {name} = {output_text(exports.get(name))}" for name in EKS_OUTPUTS)
    return lines


def rule_line(rule: Rule) -> str:
    """One lifecycle rule in words: what it selects, how it counts, what it does."""
    if rule.tag_status == "tagged":
        kind = "prefix" if rule.tag_list_kind == "tagPrefixList" else "pattern"
        selects = f"tagged {kind} {', '.join(rule.tag_list)}"
    else:
        selects = f"{rule.tag_status} images"
    if rule.storage_class != "standard":
        selects += f" ({rule.storage_class})"
    action = rule.action if rule.target_storage_class is None else f"{rule.action} to archive"
    if rule.count_type == "imageCountMoreThan":
        counted = f"keep the {rule.count_number} newest, {action} the rest"
    else:
        counted = f"{action} {rule.count_number} {rule.count_unit} after {_since(rule.count_type)}"
    return f"rule {rule.priority}: {selects}: {counted}"


def _since(count_type: str) -> str:
    return {
        "sinceImagePushed": "push",
        "sinceImagePulled": "the last pull",
        "sinceImageTransitioned": "archiving",
    }.get(count_type, count_type)


def _details(
    type_: str, protect: bool, inputs: Mapping[str, Any], args: RetailRegistryArgs
) -> list[str]:
    if type_ == REPOSITORY:
        return _repository(protect, inputs)
    if type_ == LIFECYCLE_POLICY:
        return [rule_line(rule) for rule in args.lifecycle.rules]
    if type_ == REPOSITORY_POLICY:
        return _principals(inputs.get("policy"))
    if type_ == PROMOTION:
        return [f"copies the gated imageRef of {args.promote_from} by digest; builds nothing"]
    if type_ == IMAGE:
        build = inputs.get("build") or {}
        return [
            f"name {inputs.get('imageName')}",
            f"built from {build.get('context')}/ for {build.get('platform')}, pushed on `up`",
        ]
    return []


def _repository(protect: bool, inputs: Mapping[str, Any]) -> list[str]:
    scanning = inputs.get("imageScanningConfiguration") or {}
    [encryption] = inputs.get("encryptionConfigurations") or [{}]
    filters = [f.get("filter") for f in inputs.get("imageTagMutabilityExclusionFilters") or []]
    mutability = str(inputs.get("imageTagMutability"))
    if filters:
        mutability += f" (except {', '.join(map(str, filters))})"
    kms = f" with {encryption['kmsKey']}" if encryption.get("kmsKey") else ""
    return [
        f"name {inputs.get('name')}",
        f"tags {mutability}; scanOnPush {_yes(scanning.get('scanOnPush'))}",
        f"encryption {encryption.get('encryptionType')}{kms}",
        f"forceDelete {_yes(inputs.get('forceDelete'))}; protect {_yes(protect)}",
    ]


def _principals(text: Any) -> list[str]:
    try:
        document = json.loads(text) if isinstance(text, str) else {}
    except json.JSONDecodeError:
        return ["policy: not JSON"]
    lines = []
    for statement in document.get("Statement", []):
        principal = statement.get("Principal") or {}
        who = principal.get("AWS", principal) if isinstance(principal, dict) else principal
        names = who if isinstance(who, list) else [who]
        condition = statement.get("Condition")
        pinned = f" when {json.dumps(condition, sort_keys=True)}" if condition else ""
        lines.append(f"{statement.get('Sid', 'statement')}: {', '.join(map(str, names))}{pinned}")
    return lines


def output_text(value: Any) -> str:
    """An output as the plan shows it: a value only `up` can know says so."""
    if value is None:
        return AFTER_UP
    if isinstance(value, dict):
        # The scan verdict of an offline run judged nothing.
        return AFTER_UP
    text = str(value)
    if OFFLINE_DIGEST in text:
        return text.replace(OFFLINE_DIGEST, "sha256:…") + f" {AFTER_UP}"
    return text


def _yes(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)
