"""The public entry points for policy documents: validate, parse, build and render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infra.lifecycle import overlap
from infra.lifecycle.findings import Findings, LifecyclePolicyError, Report, type_name
from infra.lifecycle.model import (
    DOCUMENT_KEYS,
    MAX_POLICY_CHARS,
    MAX_RULES,
    MIN_POLICY_CHARS,
    Rule,
    render,
    rule_from_document,
)
from infra.lifecycle.validate import (
    check_keys,
    check_rule,
    rule_label,
    storage_class_of,
    valid_priority,
)


def validate(document: Mapping[str, Any]) -> Findings:
    """Every error ECR would reject the policy for, and warnings about likely mistakes.

    Never raises: `document` may be anything JSON or YAML can produce.
    """
    return _analyse(document)[0]


def parse_policy(document: Mapping[str, Any]) -> tuple[Rule, ...]:
    """The typed rules, by ascending priority; LifecyclePolicyError if there are errors."""
    findings, rules = _analyse(document)
    if not findings.ok:
        raise LifecyclePolicyError(findings)
    return tuple(sorted(rules, key=lambda rule: rule.priority))


def build_policy(rules: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The canonical policy document: rules by priority, keys in canonical order."""
    parsed = parse_policy({"rules": list(rules)})
    return {"rules": [dict(rule.document) for rule in parsed]}


def policy_json(document: Mapping[str, Any]) -> str:
    """Canonical JSON text: the same rules in any order and key order give the same text."""
    return render(list(parse_policy(document)))


def _analyse(document: object) -> tuple[Findings, list[Rule]]:
    top = Report("policy")
    raw_rules = _rules_list(top, document)
    errors, warnings = list(top.errors), list(top.warnings)
    clean: list[tuple[str, Rule]] = []
    priorities: list[tuple[str, int]] = []
    highest: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        report = Report(rule_label(index, raw))
        check_rule(report, raw)
        errors += report.errors
        warnings += report.warnings
        priority = valid_priority(raw)
        if priority is not None:
            priorities.append((report.label, priority))
            storage = storage_class_of(raw)
            if storage is not None:
                highest[storage] = max(priority, highest.get(storage, priority))
        if not report.errors and isinstance(raw, Mapping):
            clean.append((report.label, rule_from_document(raw)))
    errors += overlap.check_priorities(priorities)
    errors += overlap.check_rules(clean, highest)
    warnings += overlap.shadow_warnings(clean)
    if not errors:
        errors += _check_length([rule for _, rule in clean])
    return Findings(tuple(errors), tuple(warnings)), [rule for _, rule in clean]


def _rules_list(report: Report, document: object) -> list[Any]:
    if not isinstance(document, Mapping):
        report.error("", f'must be an object with a "rules" list, got {type_name(document)}')
        return []
    check_keys(report, document, DOCUMENT_KEYS, "")
    if "rules" not in document:
        report.error("rules", "required, a list of 1 to 50 rules")
        return []
    rules = document["rules"]
    if not isinstance(rules, list | tuple):
        report.error("rules", f"must be a list of rules, got {type_name(rules)}")
        return []
    if not 1 <= len(rules) <= MAX_RULES:
        report.error("rules", f"must hold 1 to {MAX_RULES} rules, got {len(rules)}")
    return list(rules)


def _check_length(rules: list[Rule]) -> list[str]:
    length = len(render(rules))
    if MIN_POLICY_CHARS <= length <= MAX_POLICY_CHARS:
        return []
    return [
        f"policy: rendered text is {length} characters; ECR accepts "
        f"{MIN_POLICY_CHARS} to {MAX_POLICY_CHARS}"
    ]
