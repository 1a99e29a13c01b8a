"""The `lifecycleRules` key: its default rules and the one place the stack's rules are checked.

The rules reach `infra.lifecycle.analyse` exactly once per program run: a stack's own rules as
they load (so a bad value stops the program before any resource is declared), the default rules
the first time something reads them (the settings table parses every default when it is
imported, and a run whose stack sets its own rules never needs them). What `analyse` returns
(typed rules, canonical JSON, warnings) is kept; nothing downstream re-reads the raw rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from infra.config.parsers import ConfigError, decode
from infra.lifecycle import LifecycleAnalysis, Rule, analyse, render
from infra.lifecycle.shield import DEPLOYED_TAG_PREFIX, shield_rule

# infra.lifecycle.validate labels each message `rule <n> (rulePriority <p>): [<field>: ]<rule>`.
_RULE_MESSAGE = re.compile(r"rule (\d+) \(rulePriority [^)]*\): (?:([\w.\[\]]+): )?(.*)", re.S)

# Untagged layers go after a day, releases (`v*`) keep their
# ten newest, content tags (`sha-*`, one per build) keep a bounded history for rollback.
# A release image also carries its `sha-*` tag. AWS: "An image that matches the tagging
# requirements of a higher priority rule cannot be expired by a rule with a lower priority",
# and rules "can still identify them as if they haven't been expired": rule 3 counts such a
# release among its 30 but only rule 3 can expire it.
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
    # Deployed digests carry a `deployed-…` tag (infra/deployed.py); this rule keeps them all,
    # so no rule after it can expire or archive an image that runs or was just rolled back from.
    shield_rule(DEPLOYED_TAG_PREFIX, priority=2),
    {
        "rulePriority": 3,
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
        "rulePriority": 4,
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


@dataclass(frozen=True, eq=False)
class LifecycleSettings:
    """The stack's lifecycle policy, checked: what the component and the log need, nothing raw.

    Equal when the typed rules are equal, however they were written."""

    key: str
    """The config key the rules came from, for the error message."""
    source: tuple[Any, ...] = field(repr=False)
    """The rules as given; read once, by `analysis`."""

    @cached_property
    def analysis(self) -> LifecycleAnalysis:
        analysis = analyse({"rules": list(self.source)})
        if not analysis.ok:
            raise ConfigError.combine([rule_error(self.key, e) for e in analysis.errors])
        return analysis

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Typed rules by ascending priority."""
        return self.analysis.rules

    @cached_property
    def policy_json(self) -> str:
        """Canonical policy text for `aws.ecr.LifecyclePolicy`, rendered from `rules`."""
        return render(self.rules)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Legal but probably unintended; the Pulumi reader logs them with `pulumi.log.warn`."""
        return self.analysis.warnings

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LifecycleSettings):
            return NotImplemented
        return self.rules == other.rules

    def __hash__(self) -> int:
        return hash(self.rules)


def rule_error(key: str, message: str) -> ConfigError:
    """The validator's `rule 3 (rulePriority 3): selection.countNumber: …` as a ConfigError at
    the path `[2].selection.countNumber` of the key; a message about the whole list stays one."""
    found = _RULE_MESSAGE.fullmatch(message)
    if found is None:
        return ConfigError(key, None, f"ECR would reject it: {message.removeprefix('policy: ')}")
    number, where, rule = found.groups()
    path = f"[{int(number) - 1}]" + (f".{where}" if where and where != "rule" else "")
    return ConfigError(key, None, f"ECR would reject it: {rule}", path=path)


def lifecycle_rules(key: str, value: Any) -> LifecycleSettings:
    decoded = decode(value)
    if not isinstance(decoded, list | tuple):
        raise ConfigError(key, value, "must be a list of ECR lifecycle rule objects")
    if tuple(decoded) == DEFAULT_LIFECYCLE_RULES:
        # Python equality also equates 1.0 and true with 1: keep the defaults' own text, which
        # a test shows valid, and analyse it when first read.
        return LifecycleSettings(key, DEFAULT_LIFECYCLE_RULES)
    settings = LifecycleSettings(key, tuple(decoded))
    # Checked now: config errors surface as the stack loads, before any resource.
    _ = settings.analysis
    return settings
