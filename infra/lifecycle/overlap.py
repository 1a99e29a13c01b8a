"""Checks across rules: priorities, one-of-a-kind selections, and rules that can never act.

ECR gives every image to the highest-priority rule whose selection matches it, so a lower rule
whose matches are all matched higher up never acts. Detecting that exactly would need pattern
language inclusion; the cases handled here (identical entries, `X*` patterns and prefixes whose
literal start extends a higher rule's) are the ones people write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.lifecycle.diagnostics import show
from infra.lifecycle.model import Rule


def check_priorities(priorities: Sequence[tuple[str, int]]) -> list[str]:
    """`priorities` holds (rule label, rulePriority) for every rule with a valid priority."""
    errors: list[str] = []
    first: dict[int, str] = {}
    for label, priority in priorities:
        if priority in first:
            errors.append(f"{label}: rulePriority: duplicates {first[priority]}; must be unique")
        else:
            first[priority] = label
    return errors


def check_rules(rules: Sequence[tuple[str, Rule]], highest: Mapping[str, int]) -> list[str]:
    """Errors ECR raises for combinations of well-formed rules.

    `highest` maps each storage class to the top rulePriority among the rules selecting it. Like
    the untagged and same-prefix checks, the `any` checks apply per storage class: one `any`
    rule in standard and one in archive is a valid policy.
    """
    errors: list[str] = []
    first_any: dict[str, str] = {}
    for label, rule in sorted(rules, key=lambda item: item[1].priority):
        if rule.tag_status != "any":
            continue
        storage = rule.storage_class
        if storage in first_any:
            errors.append(
                f'{label}: selection.tagStatus: only one rule per storage class may use "any"; '
                f'{first_any[storage]} already does in storage class "{storage}"'
            )
        else:
            first_any[storage] = label
        top = highest.get(storage, rule.priority)
        if rule.priority != top:
            errors.append(
                f'{label}: rulePriority: a tagStatus "any" rule must have the highest '
                f'rulePriority of the rules in storage class "{storage}" ({top}), so that it is '
                "evaluated last"
            )
    errors += _one_per_storage_class(rules, "untagged", "selects untagged images")
    errors += _one_per_storage_class(rules, "tagPrefixList", "has the same tagPrefixList set")
    return errors


def _selection_key(rule: Rule, kind: str) -> tuple[object, ...] | None:
    if kind == "untagged":
        return (rule.storage_class,) if rule.tag_status == "untagged" else None
    if rule.tag_list_kind != kind:
        return None
    return (rule.storage_class, frozenset(rule.tag_list))


def _one_per_storage_class(rules: Sequence[tuple[str, Rule]], kind: str, what: str) -> list[str]:
    errors: list[str] = []
    seen: dict[tuple[object, ...], str] = {}
    for label, rule in sorted(rules, key=lambda item: item[1].priority):
        key = _selection_key(rule, kind)
        if key is None:
            continue
        if key in seen:
            errors.append(
                f"{label}: selection: {what} as {seen[key]} in storage class "
                f'"{rule.storage_class}"; ECR allows only one such rule'
            )
        else:
            seen[key] = label
    return errors


def shadow_warnings(rules: Sequence[tuple[str, Rule]]) -> list[str]:
    """One warning per rule whose every match is matched first by a higher-priority rule."""
    ordered = sorted(rules, key=lambda item: item[1].priority)
    warnings: list[str] = []
    for position, (label, rule) in enumerate(ordered):
        for higher_label, higher in ordered[:position]:
            if _already_an_error(higher, rule) or not covers(higher, rule):
                continue
            warnings.append(
                f"{label}: selection: can never act: every image it selects is matched first "
                f"by {higher_label} ({_describe(higher)}), which takes it off limits"
            )
            break
    return warnings


def _already_an_error(higher: Rule, lower: Rule) -> bool:
    return any(
        _selection_key(higher, kind) is not None
        and _selection_key(higher, kind) == _selection_key(lower, kind)
        for kind in ("untagged", "tagPrefixList")
    )


def covers(higher: Rule, lower: Rule) -> bool:
    """True when every image `lower` matches is certainly matched by `higher`."""
    if higher.storage_class != lower.storage_class:
        return False
    if higher.tag_status == "any":
        return True
    if higher.tag_status == "untagged" or lower.tag_status != "tagged":
        return lower.tag_status == higher.tag_status == "untagged"
    assert higher.tag_list_kind is not None and lower.tag_list_kind is not None
    return all(
        any(
            entry_covers(higher.tag_list_kind, wide, lower.tag_list_kind, narrow)
            for narrow in lower.tag_list
        )
        for wide in higher.tag_list
    )


def entry_covers(wide_kind: str, wide: str, narrow_kind: str, narrow: str) -> bool:
    """True when every tag matching entry `narrow` also matches entry `wide`."""
    # Every tag `narrow` matches starts with this literal text.
    narrow_start = narrow if narrow_kind == "tagPrefixList" else narrow.split("*")[0]
    if wide_kind == "tagPrefixList":
        return narrow_start.startswith(wide)
    if wide.count("*") == 1 and wide.endswith("*"):
        return narrow_start.startswith(wide[:-1])
    return narrow_kind == "tagPatternList" and narrow == wide


def _describe(rule: Rule) -> str:
    if rule.tag_list_kind is None:
        return f'tagStatus "{rule.tag_status}"'
    return f"{rule.tag_list_kind} {show(list(rule.tag_list))}"
