"""The stack's rules are parsed and validated once per program run, and never at import."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import infra.lifecycle.analysis as analysis_module
from infra.config import DEFAULT_LIFECYCLE_RULES, ConfigError, load_args
from infra.lifecycle.shield import DEPLOYED_TAG_PREFIX, shield_rule
from infra.paths import PROJECT_ROOT

from .support import RELEASES, UNTAGGED, rule

SHIELD = shield_rule(DEPLOYED_TAG_PREFIX, priority=2)

# Counts calls of the analyser from the first import on, in a fresh interpreter.
COUNT_FROM_IMPORT = """
import infra.lifecycle.analysis as module
calls = []
original = module._analyse
module._analyse = lambda document: (calls.append(document), original(document))[1]
from infra.config import load_args
print(len(calls))
args = load_args({}, stack="s")
print(len(calls))
args.lifecycle.policy_json, args.lifecycle.rules, args.lifecycle.warnings
args.lifecycle.policy_json, args.lifecycle.rules, args.lifecycle.warnings
print(len(calls))
"""


def counting(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    original = analysis_module._analyse

    def count(document: object) -> Any:
        calls.append(document)
        return original(document)

    monkeypatch.setattr(analysis_module, "_analyse", count)
    return calls


def test_default_rules_are_analysed_on_first_use_not_at_import() -> None:
    result = subprocess.run(
        [sys.executable, "-c", COUNT_FROM_IMPORT],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    # Not at import; once when the settings load (the deployed-image shield is checked
    # against the rules there), and never again however often the result is read.
    assert result.stdout.split() == ["0", "1", "1"]


def test_a_stacks_rules_are_analysed_once_as_they_load(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    own = [
        UNTAGGED,
        SHIELD,
        {**RELEASES, "rulePriority": 3},
        rule(4, patterns=["sha-*"], number=12),
    ]
    args = load_args({"lifecycleRules": own}, stack="s")
    assert len(calls) == 1
    assert [typed.count_number for typed in args.lifecycle.rules] == [1, 9999, 10, 12]
    assert '"countNumber":12' in args.lifecycle.policy_json
    assert args.lifecycle.warnings == ()
    assert len(calls) == 1


def test_a_bad_stack_value_still_fails_as_it_loads() -> None:
    with pytest.raises(ConfigError, match=r"lifecycleRules.*ECR would reject"):
        load_args({"lifecycleRules": [rule(1, number=0)]}, stack="s")


def test_settings_compare_by_their_typed_rules() -> None:
    reordered = [dict(each) for each in reversed(DEFAULT_LIFECYCLE_RULES)]
    written = load_args({"lifecycleRules": reordered}, stack="s")
    assert written.lifecycle == load_args({}, stack="s").lifecycle
    swapped = [rule(3, patterns=["sha-*"], number=30), rule(4, patterns=["v*"], number=10)]
    other = load_args({"lifecycleRules": [*swapped, UNTAGGED, SHIELD]}, stack="s")
    assert written.lifecycle != other.lifecycle


def test_the_default_rules_are_valid_and_quiet() -> None:
    analysis = analysis_module.analyse({"rules": list(DEFAULT_LIFECYCLE_RULES)})
    assert (analysis.errors, analysis.warnings) == ((), ())
    assert [typed.priority for typed in analysis.rules] == [1, 2, 3, 4]


def test_rules_equal_to_the_defaults_render_the_defaults() -> None:
    # 1.0 == 1 in Python: such a value is taken as the defaults, rendered from their own text.
    floats = [
        {**each, "rulePriority": float(each["rulePriority"])} for each in DEFAULT_LIFECYCLE_RULES
    ]
    args = load_args({"lifecycleRules": floats}, stack="s")
    assert args.lifecycle.policy_json == load_args({}, stack="s").lifecycle.policy_json
    assert args.lifecycle.policy_json.startswith('{"rules":[{"rulePriority":1,"description"')
