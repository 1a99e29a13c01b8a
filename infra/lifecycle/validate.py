"""Checks one raw rule at a time against ECR's lifecycle-policy schema.

Input is whatever JSON or YAML produced, so every access is type-checked first: bad input is
reported, never raised. Each message names the rule (position and rulePriority) and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from infra.lifecycle.diagnostics import Report, show, type_name
from infra.lifecycle.model import (
    ACTION_KEYS,
    ACTION_TYPES,
    COUNT_TYPE_COMBINATIONS,
    COUNT_TYPES,
    COUNT_UNITS,
    MAX_PATTERN_WILDCARDS,
    MIN_ARCHIVE_DAYS,
    RULE_KEYS,
    SELECTION_KEYS,
    SINCE_COUNT_TYPES,
    STORAGE_CLASSES,
    TAG_STATUSES,
    TARGET_STORAGE_CLASSES,
)

TAG_LISTS = ("tagPrefixList", "tagPatternList")
_TAG_TEXT = re.compile(r"[A-Za-z0-9_.-]*")


def rule_label(index: int, raw: object) -> str:
    priority = raw.get("rulePriority") if isinstance(raw, Mapping) else None
    shown = "missing" if priority is None else show(priority)
    return f"rule {index + 1} (rulePriority {shown})"


def check_rule(report: Report, raw: object) -> None:
    """Record every schema error and per-rule warning of one rule."""
    if not isinstance(raw, Mapping):
        report.error("rule", f"must be an object, got {type_name(raw)}")
        return
    check_keys(report, raw, RULE_KEYS, "")
    _check_priority(report, raw)
    if "description" in raw and not isinstance(raw["description"], str):
        report.error("description", f"must be a string, got {type_name(raw['description'])}")
    selection = _section(report, raw, "selection")
    action = _section(report, raw, "action")
    if selection is not None:
        _check_selection(report, selection)
    if action is not None:
        _check_action(report, action, selection or {})


def check_keys(report: Report, raw: Mapping[str, Any], allowed: tuple[str, ...], at: str) -> None:
    for key in raw:
        if key not in allowed:
            report.error(f"{at}{key}", f"unknown field; allowed: {', '.join(allowed)}")


def valid_priority(raw: object) -> int | None:
    value = raw.get("rulePriority") if isinstance(raw, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def storage_class_of(raw: object) -> str | None:
    """The storage class a raw rule selects ("standard" when absent), None if unreadable."""
    selection = raw.get("selection") if isinstance(raw, Mapping) else None
    if not isinstance(selection, Mapping):
        return None
    storage = selection.get("storageClass", "standard")
    return storage if isinstance(storage, str) and storage in STORAGE_CLASSES else None


def _check_priority(report: Report, raw: Mapping[str, Any]) -> None:
    if "rulePriority" not in raw:
        report.error("rulePriority", "required, a positive integer")
    elif valid_priority(raw) is None:
        report.error("rulePriority", f"must be a positive integer, got {show(raw['rulePriority'])}")


def _section(report: Report, raw: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    if key not in raw:
        report.error(key, "required, an object")
        return None
    value = raw[key]
    if not isinstance(value, Mapping):
        report.error(key, f"must be an object, got {type_name(value)}")
        return None
    return value


def _enum(
    report: Report, raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], at: str
) -> str | None:
    """The value if it is one of `allowed`; otherwise records why not and returns None."""
    if key not in raw:
        return None
    value = raw[key]
    if value not in allowed or not isinstance(value, str):
        choices = " | ".join(f'"{choice}"' for choice in allowed)
        report.error(f"{at}{key}", f"must be one of {choices}, got {show(value)}")
        return None
    return value


def _check_selection(report: Report, selection: Mapping[str, Any]) -> None:
    check_keys(report, selection, SELECTION_KEYS, "selection.")
    for key in ("tagStatus", "countType", "countNumber"):
        if key not in selection:
            report.error(f"selection.{key}", "required")
    status = _enum(report, selection, "tagStatus", TAG_STATUSES, "selection.")
    _check_tag_lists(report, selection, status)
    count_type = _enum(report, selection, "countType", COUNT_TYPES, "selection.")
    _check_count(report, selection, count_type)
    _check_storage_class(report, selection, count_type)


def _check_tag_lists(report: Report, selection: Mapping[str, Any], status: str | None) -> None:
    present = [key for key in TAG_LISTS if key in selection]
    for key in present:
        _check_tag_list(report, key, selection[key])
        if status in ("untagged", "any"):
            report.error(f"selection.{key}", f'not allowed with tagStatus "{status}"')
    if status == "tagged" and len(present) != 1:
        found = "both" if present else "neither"
        report.error(
            "selection",
            f'tagStatus "tagged" needs exactly one of tagPrefixList or tagPatternList, '
            f"found {found}",
        )


def _check_tag_list(report: Report, key: str, value: object) -> None:
    where = f"selection.{key}"
    if not isinstance(value, list | tuple):
        report.error(where, f"must be a list of strings, got {type_name(value)}")
        return
    if not value:
        report.error(where, "must not be empty")
    for position, entry in enumerate(value):
        if not isinstance(entry, str) or not entry:
            report.error(f"{where}[{position}]", f"must be a non-empty string, got {show(entry)}")
        else:
            _check_tag_entry(report, f"{where}[{position}]", key, entry)
    if len(value) > 1:
        report.warn(
            where,
            f"{show(list(value))} matches only images that have a tag for EVERY entry (AND), not "
            "any one of them; write one rule per entry to match images carrying any of them",
        )


def _check_tag_entry(report: Report, where: str, key: str, entry: str) -> None:
    wildcards = entry.count("*")
    if key == "tagPatternList" and wildcards > MAX_PATTERN_WILDCARDS:
        report.error(
            where,
            f"{show(entry)} has {wildcards} wildcards; ECR allows at most "
            f"{MAX_PATTERN_WILDCARDS} per pattern",
        )
    elif key == "tagPrefixList" and wildcards:
        report.warn(
            where,
            f"{show(entry)}: '*' is a literal character in a prefix, not a wildcard; "
            "use tagPatternList for wildcards",
        )
    elif not _TAG_TEXT.fullmatch(entry.replace("*", "")):
        # Docker tags are [A-Za-z0-9_.-]; an entry with anything else can never match.
        report.warn(where, f"{show(entry)} can never match: tags only contain A-Z a-z 0-9 _ . -")


def _check_count(report: Report, selection: Mapping[str, Any], count_type: str | None) -> None:
    number = selection.get("countNumber")
    if "countNumber" in selection and (
        isinstance(number, bool) or not isinstance(number, int) or number < 1
    ):
        report.error("selection.countNumber", f"must be a positive integer, got {show(number)}")
    _enum(report, selection, "countUnit", COUNT_UNITS, "selection.")
    if count_type in SINCE_COUNT_TYPES and "countUnit" not in selection:
        report.error("selection.countUnit", f'required ("days") for countType {count_type}')
    if count_type == "imageCountMoreThan" and "countUnit" in selection:
        report.error("selection.countUnit", "not allowed with countType imageCountMoreThan")


def _check_storage_class(
    report: Report, selection: Mapping[str, Any], count_type: str | None
) -> None:
    storage = _enum(report, selection, "storageClass", STORAGE_CLASSES, "selection.")
    if count_type == "sinceImageTransitioned":
        if "storageClass" not in selection or storage == "standard":
            report.error(
                "selection.storageClass", 'must be "archive" for countType sinceImageTransitioned'
            )
        number = selection.get("countNumber")
        if (
            isinstance(number, int)
            and not isinstance(number, bool)
            and 0 < number < MIN_ARCHIVE_DAYS
        ):
            report.error(
                "selection.countNumber",
                f'{number} is under {MIN_ARCHIVE_DAYS}: AWS: "You cannot configure lifecycle '
                "policies that delete images that have been in archive for less than "
                f'{MIN_ARCHIVE_DAYS} days" (archived images have a {MIN_ARCHIVE_DAYS}-day minimum '
                "storage duration)",
            )
    elif storage == "archive" and count_type is not None:
        report.error(
            "selection.storageClass",
            f'"archive" is only allowed with countType sinceImageTransitioned, not {count_type}',
        )


def _check_action(report: Report, action: Mapping[str, Any], selection: Mapping[str, Any]) -> None:
    check_keys(report, action, ACTION_KEYS, "action.")
    if "type" not in action:
        report.error("action.type", 'required, "expire" or "transition"')
    kind = _enum(report, action, "type", ACTION_TYPES, "action.")
    _enum(report, action, "targetStorageClass", TARGET_STORAGE_CLASSES, "action.")
    if kind == "transition" and "targetStorageClass" not in action:
        report.error("action.targetStorageClass", 'required ("archive") for action type transition')
    if kind == "expire" and "targetStorageClass" in action:
        report.error("action.targetStorageClass", "not allowed with action type expire")
    if kind == "transition" and selection.get("storageClass") == "archive":
        report.error(
            "action.type", 'must be "expire" for storageClass "archive": those images are archived'
        )
    count_type = selection.get("countType")
    if kind is not None and isinstance(count_type, str) and count_type in COUNT_TYPE_COMBINATIONS:
        _, actions = COUNT_TYPE_COMBINATIONS[count_type]
        if kind not in actions and selection.get("storageClass") != "archive":
            allowed = " or ".join(f'"{action}"' for action in actions)
            report.error(
                "action.type",
                f"countType {count_type} must be used with action type {allowed}; it cannot "
                f'be used with "{kind}" (AWS, "Lifecycle policy properties")',
            )
