"""`analyse`: the one place a lifecycle policy document is parsed and validated.

Everything downstream (the settings, the component, the policy pack, the simulator, the CLI)
takes the `LifecycleAnalysis` it returns and never re-reads the raw document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.lifecycle import overlap
from infra.lifecycle.diagnostics import Report, type_name
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


@dataclass(frozen=True)
class LifecycleAnalysis:
    """Errors are what ECR would reject; warnings are legal but probably not what was meant.

    `rules` are the typed rules by ascending priority, and empty whenever there is an error, so
    a caller can never act on half of a rejected policy.
    """

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def analyse(document: object) -> LifecycleAnalysis:
    """Check `document` (`{"rules": [...]}` as in ECR's JSON) against ECR's rules, and type it.

    Never raises: `document` may be anything JSON or YAML can produce, nested arbitrarily.
    """
    try:
        return _analyse(document)
    except RecursionError:
        return LifecycleAnalysis(errors=("policy: nested too deeply to check",))


def _analyse(document: object) -> LifecycleAnalysis:
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
    rules = tuple(sorted((rule for _, rule in clean), key=lambda rule: rule.priority))
    if not errors:
        errors += _check_length(rules)
    return LifecycleAnalysis(tuple(errors), tuple(warnings), () if errors else rules)


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


def _check_length(rules: tuple[Rule, ...]) -> list[str]:
    length = len(render(rules))
    if MIN_POLICY_CHARS <= length <= MAX_POLICY_CHARS:
        return []
    return [
        f"policy: rendered text is {length} characters; ECR accepts "
        f"{MIN_POLICY_CHARS} to {MAX_POLICY_CHARS}"
    ]
