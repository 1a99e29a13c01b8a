"""The shield: a first rule that keeps every image carrying a tag prefix, and the check that no
rule can reach such an image anyway.

ECR rules select by tag only, so images that must never go (the deployed ones) carry a tag with
a fixed prefix, and the policy's first rule keeps all images with that prefix. AWS ("How
lifecycle policies work"): "An image that matches the tagging requirements of a higher priority
rule cannot be expired by a rule with a lower priority", and the same holds for archiving; a
rule evaluated after the shield therefore never acts on a shielded image, whatever it selects
(`tagPatternList: ["*"]` and `tagStatus: "any"` included). CDK documents the same device:
`addLifecycleRule({ tagPrefixList: ['prod'], maxImageCount: 9999 })`.

What can still reach a shielded image is a rule evaluated before the shield (a smaller
rulePriority) whose selection can match it: any `tagged` rule (a shielded image also carries
its `sha-*` or `v*` tags) and any `any` rule, in the standard storage class, where deployed
images are. An `untagged` rule cannot, and an archive-class rule only sees images already
archived. A shield that keeps fewer images than carry the tag at once expires the oldest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infra.lifecycle.model import Rule

SHIELD_COUNT = 9999
"""Images the shield keeps: far more than ever carry the tag at once, as in CDK's example."""
DEPLOYED_TAG_PREFIX = "deployed-"
"""The prefix of the tags the program puts on the digests it deployed (`infra.deployed`)."""
VERBS = {"expire": "expire", "transition": "archive"}


def shield_rule(tag_prefix: str, priority: int = 1) -> dict[str, Any]:
    """The shield as an ECR rule document: keep the SHIELD_COUNT newest images whose tags
    include one starting with `tag_prefix`, i.e. all of them. Give it the smallest rulePriority
    of the policy so it is evaluated first."""
    if not tag_prefix or "*" in tag_prefix:
        raise ValueError(
            f"tag_prefix: must be a non-empty tag prefix without '*', got {tag_prefix!r}"
        )
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        raise ValueError(f"priority: must be a positive integer, got {priority!r}")
    return {
        "rulePriority": priority,
        "description": f"Keep every image tagged {tag_prefix}* (deployed images): nothing after "
        "this rule can expire or archive them",
        "selection": {
            "tagStatus": "tagged",
            "tagPrefixList": [tag_prefix],
            "countType": "imageCountMoreThan",
            "countNumber": SHIELD_COUNT,
        },
        "action": {"type": "expire"},
    }


@dataclass(frozen=True)
class Reach:
    """A rule that could expire or archive a shielded image, and why."""

    rule: Rule
    message: str


def is_shield(rule: Rule, tag_prefix: str, carriers: int = 1) -> bool:
    """True for a rule that keeps every image tagged `tag_prefix…` while at most `carriers`
    images carry such a tag at once."""
    return (
        rule.storage_class == "standard"
        and rule.tag_list_kind == "tagPrefixList"
        and rule.tag_list == (tag_prefix,)
        and rule.count_type == "imageCountMoreThan"
        and rule.count_number >= carriers
    )


def rules_reaching_shield(
    rules: Sequence[Rule], tag_prefix: str, carriers: int = 1
) -> tuple[Reach, ...]:
    """The rules (of `analyse(...).rules`) that could expire or archive an image tagged
    `tag_prefix…`, in rulePriority order; empty when the shield holds.

    `carriers` is how many images carry the tag at once (the deployed window); a shield rule
    keeping fewer is reported too."""
    reaching: list[Reach] = []
    for rule in sorted(rules, key=lambda each: each.priority):
        if is_shield(rule, tag_prefix, carriers):
            return tuple(reaching)
        if rule.storage_class != "standard" or rule.tag_status == "untagged":
            continue
        reaching.append(Reach(rule, _message(rule, tag_prefix, carriers)))
    return tuple(reaching)


def _message(rule: Rule, tag_prefix: str, carriers: int) -> str:
    verb = VERBS[rule.action]
    if rule.tag_list == (tag_prefix,) and rule.count_type == "imageCountMoreThan":
        return (
            f"{rule.label}: keeps only {rule.count_number} images tagged {tag_prefix}*, but "
            f"{carriers} carry that tag at once: it would {verb} the oldest of them; keep at "
            f"least {carriers} (the shield keeps {SHIELD_COUNT})"
        )
    selects = (
        'tagStatus "any"'
        if rule.tag_list_kind is None
        else f"{rule.tag_list_kind} {list(rule.tag_list)}"
    )
    return (
        f"{rule.label}: could {verb} an image tagged {tag_prefix}* ({selects}, "
        f"{rule.count_type} {rule.count_number}): it is evaluated before any rule keeping "
        f"{tag_prefix}* images; give the shield a smaller rulePriority than {rule.priority}"
    )
