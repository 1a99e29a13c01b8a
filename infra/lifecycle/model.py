"""Typed model of an ECR lifecycle policy and its canonical JSON form.

The schema is AWS's current one (Amazon ECR User Guide, "Lifecycle policy properties"):
archive storage class, the `transition` action and the `sinceImagePulled` /
`sinceImageTransitioned` count types included. A `Rule` is only ever built from a rule that
`validate` accepted, so its fields hold legal values and the model needs no checks of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_RULES = 50
MIN_POLICY_CHARS = 100
MAX_POLICY_CHARS = 30_720
MAX_PATTERN_WILDCARDS = 4
# The archive class's minimum storage duration. ECR User Guide, "Archiving an image": "You
# cannot configure lifecycle policies that delete images that have been in archive for less
# than 90 days." So an expire rule with sinceImageTransitioned under 90 is an error.
MIN_ARCHIVE_DAYS = 90

TAG_STATUSES = ("tagged", "untagged", "any")
STORAGE_CLASSES = ("standard", "archive")
COUNT_TYPES = (
    "imageCountMoreThan",
    "sinceImagePushed",
    "sinceImagePulled",
    "sinceImageTransitioned",
)
SINCE_COUNT_TYPES = frozenset(COUNT_TYPES[1:])
# What each countType may be combined with: (storage classes it may select, action types it
# may take). From AWS's "Lifecycle policy properties" and "Examples of lifecycle policies":
# sinceImagePulled archives only (it cannot expire), sinceImageTransitioned measures time in
# archive and so only selects archived images, which can only be expired.
COUNT_TYPE_COMBINATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "imageCountMoreThan": (("standard",), ("expire", "transition")),
    "sinceImagePushed": (("standard",), ("expire", "transition")),
    "sinceImagePulled": (("standard",), ("transition",)),
    "sinceImageTransitioned": (("archive",), ("expire",)),
}
COUNT_UNITS = ("days",)
ACTION_TYPES = ("expire", "transition")
TARGET_STORAGE_CLASSES = ("archive",)

# Canonical key order; also the complete set of keys ECR accepts at each level.
DOCUMENT_KEYS = ("rules",)
RULE_KEYS = ("rulePriority", "description", "selection", "action")
SELECTION_KEYS = (
    "tagStatus",
    "tagPrefixList",
    "tagPatternList",
    "storageClass",
    "countType",
    "countUnit",
    "countNumber",
)
ACTION_KEYS = ("type", "targetStorageClass")


@dataclass(frozen=True)
class Rule:
    """One validated lifecycle rule: every field of ECR's schema, typed.

    `tag_list_kind` is None for untagged/any rules; `count_unit` is None for
    imageCountMoreThan; `target_storage_class` is None for expire. The typed fields are the
    whole rule: `render` writes the policy from them and nothing else."""

    priority: int
    description: str | None
    tag_status: str
    tag_list_kind: str | None
    tag_list: tuple[str, ...]
    storage_class: str
    count_type: str
    count_unit: str | None
    count_number: int
    action: str
    target_storage_class: str | None

    @property
    def label(self) -> str:
        return f"rulePriority {self.priority}"

    def to_document(self) -> dict[str, Any]:
        """The rule in ECR's JSON shape, keys in ECR's documented order."""
        rule: dict[str, Any] = {"rulePriority": self.priority}
        if self.description is not None:
            rule["description"] = self.description
        selection: dict[str, Any] = {"tagStatus": self.tag_status}
        if self.tag_list_kind is not None:
            selection[self.tag_list_kind] = list(self.tag_list)
        # "standard" is the default storage class, so it is left out: one text per policy.
        if self.storage_class != "standard":
            selection["storageClass"] = self.storage_class
        selection["countType"] = self.count_type
        if self.count_unit is not None:
            selection["countUnit"] = self.count_unit
        selection["countNumber"] = self.count_number
        action: dict[str, Any] = {"type": self.action}
        if self.target_storage_class is not None:
            action["targetStorageClass"] = self.target_storage_class
        rule["selection"] = selection
        rule["action"] = action
        return rule


def rule_from_document(raw: Mapping[str, Any]) -> Rule:
    """Type a rule `validate` accepted."""
    selection = raw["selection"]
    kind = next((k for k in ("tagPrefixList", "tagPatternList") if k in selection), None)
    return Rule(
        priority=raw["rulePriority"],
        description=raw.get("description"),
        tag_status=selection["tagStatus"],
        tag_list_kind=kind,
        tag_list=tuple(selection[kind]) if kind else (),
        # An absent storageClass means standard: archived images are only selected explicitly.
        storage_class=selection.get("storageClass", "standard"),
        count_type=selection["countType"],
        count_unit=selection.get("countUnit"),
        count_number=selection["countNumber"],
        action=raw["action"]["type"],
        target_storage_class=raw["action"].get("targetStorageClass"),
    )


def render(rules: Sequence[Rule]) -> str:
    """The canonical policy JSON for `aws.ecr.LifecyclePolicy`: compact, rules by priority, keys
    in canonical order, so the same rules in any order give the same text (and no Pulumi diff)."""
    ordered = sorted(rules, key=lambda rule: rule.priority)
    document = {"rules": [rule.to_document() for rule in ordered]}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def tag_matches(kind: str, entry: str, tag: str) -> bool:
    """Prefix entries match by `startswith`; pattern entries match the whole tag."""
    if kind == "tagPrefixList":
        return tag.startswith(entry)
    return _pattern_regex(entry).fullmatch(tag) is not None


@lru_cache(maxsize=1024)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # Only `*` is special in ECR patterns; everything else is literal and case-sensitive.
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
