"""The `lifecycleRules` key: its default rules and the one place the stack's rules are checked.

The parser hands the raw rules to `infra.lifecycle.analyse` exactly once per program run and
keeps what it returns (typed rules, canonical JSON, warnings); nothing downstream re-reads the
raw document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.config.parsers import ConfigError, decode
from infra.lifecycle import Rule, analyse, render

# The seed's intent, made explicit: untagged layers go after a day, releases (`v*`) keep their
# ten newest, content tags (`sha-*`, one per build) keep a bounded history for rollback.
# A release image also carries its `sha-*` tag. AWS: "An image that matches the tagging
# requirements of a higher priority rule cannot be expired by a rule with a lower priority",
# and rules "can still identify them as if they haven't been expired": rule 3 counts such a
# release among its 30 but only rule 2 can expire it.
SHA_RULE_DESCRIPTION = (
    "Keep the {count} newest sha-* images; a release also tagged sha-* counts among them, "
    "but only the v* rule can expire it"
)
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
        "description": SHA_RULE_DESCRIPTION.format(count=30),
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
class LifecycleSettings:
    """The stack's lifecycle policy, checked: what the component and the log need, nothing raw."""

    rules: tuple[Rule, ...]
    """Typed rules by ascending priority."""
    policy_json: str
    """Canonical policy text for `aws.ecr.LifecyclePolicy`."""
    warnings: tuple[str, ...]
    """Legal but probably unintended; the Pulumi reader logs them with `pulumi.log.warn`."""


def lifecycle_rules(key: str, value: Any) -> LifecycleSettings:
    decoded = decode(value)
    if not isinstance(decoded, list | tuple):
        raise ConfigError(key, value, "must be a list of ECR lifecycle rule objects")
    analysis = analyse({"rules": list(decoded)})
    if not analysis.ok:
        raise ConfigError(
            key, list(decoded), "ECR would reject these rules: " + "; ".join(analysis.errors)
        )
    return LifecycleSettings(analysis.rules, render(analysis.rules), analysis.warnings)
