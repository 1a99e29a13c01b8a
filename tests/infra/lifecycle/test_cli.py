"""`python -m infra.lifecycle validate` (and the input handling both commands share), run as a
subprocess from the project root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.cli import lifecycle as lifecycle_cli
from infra.paths import PROJECT_ROOT
from testkit.cli import write_input

from .support import (
    WORKED_CLI_POLICY,
    assert_one_line_error,
    cli,
    rule,
)


def test_validate_valid_policy_prints_ok(tmp_path: Path) -> None:
    result = cli("validate", write_input(tmp_path, "p.json", WORKED_CLI_POLICY))
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_validate_prints_ok_and_warnings_on_stderr(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, prefixes=["prod", "dev"], number=5), rule(2, prefixes=["v*"])]}
    result = cli("validate", write_input(tmp_path, "p.json", policy))
    assert (result.returncode, result.stdout) == (0, "ok\n")
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("warning: ") for line in lines)
    assert lines[0].startswith("warning: rule 1 (rulePriority 1): selection.tagPrefixList")
    assert lines[1].startswith("warning: rule 2 (rulePriority 2): selection.tagPrefixList[0]")


def test_validate_invalid_policy_exits_1_with_one_line_per_error(tmp_path: Path) -> None:
    policy = {
        "rules": [
            rule(1, "untagged", prefixes=["v"], count_type="sinceImagePushed"),
            rule(1, patterns=["v*"], number=0),
        ]
    }
    result = cli("validate", write_input(tmp_path, "p.json", policy))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        'rule 1 (rulePriority 1): selection.tagPrefixList: not allowed with tagStatus "untagged"',
        "rule 2 (rulePriority 1): selection.countNumber: must be a positive integer, got 0",
        "rule 2 (rulePriority 1): rulePriority: duplicates rule 1 (rulePriority 1); must be unique",
    ]
    assert result.stdout.endswith("\n")
    assert result.stderr == ""


def test_validate_errors_and_warnings_keep_their_streams(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, prefixes=["a", "b"]), rule(2, prefixes=["b", "a"])]}
    result = cli("validate", write_input(tmp_path, "p.json", policy))
    assert result.returncode == 1
    assert result.stdout == (
        "rule 2 (rulePriority 2): selection: has the same tagPrefixList set as rule 1 "
        '(rulePriority 1) in storage class "standard"; ECR allows only one such rule\n'
    )
    assert [line.split(":")[0] for line in result.stderr.splitlines()] == ["warning", "warning"]


def test_validate_error_with_line_break_stays_one_line(tmp_path: Path) -> None:
    policy = {"rules": [{**rule(1, patterns=["v*"]), "bad\nkey": 1}]}
    result = cli("validate", write_input(tmp_path, "p.json", policy))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "rule 1 (rulePriority 1): bad\\nkey: unknown field; allowed: rulePriority, description, "
        "selection, action"
    ]


def test_validate_json_format_valid(tmp_path: Path) -> None:
    result = cli("validate", write_input(tmp_path, "p.json", WORKED_CLI_POLICY), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "errors": [], "warnings": []}
    assert result.stderr == ""


def test_validate_json_format_lists_errors_and_warnings(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, prefixes=["a", "b"]), rule(2, prefixes=["b", "a"])]}
    result = cli("validate", write_input(tmp_path, "p.json", policy), "--format", "json")
    assert result.returncode == 1
    output = json.loads(result.stdout)
    assert output["ok"] is False
    assert len(output["errors"]) == 1 and len(output["warnings"]) == 2
    assert output["errors"][0].startswith("rule 2 (rulePriority 2): selection: has the same")


def test_validate_json_format_empty_policy(tmp_path: Path) -> None:
    result = cli("validate", write_input(tmp_path, "p.json", {"rules": []}), "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"] == ["policy: rules: must hold 1 to 50 rules, got 0"]


def test_validate_has_no_table_format(tmp_path: Path) -> None:
    result = cli(
        "validate", write_input(tmp_path, "p.json", WORKED_CLI_POLICY), "--format", "table"
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "invalid choice: 'table'" in result.stderr


def test_help_texts_describe_outputs_and_units() -> None:
    validate_help = cli("validate", "--help")
    assert validate_help.returncode == 0
    text = " ".join(validate_help.stdout.split())
    assert "`ok` on stdout and exit 0" in text
    assert "one line per error on stdout and exit 1" in text
    assert "{text,json}" in text
    simulate_help = " ".join(cli("simulate", "--help").stdout.split())
    assert "USD per GB-month" in simulate_help
    assert "a GB is 2**30 bytes" in simulate_help
    assert "{json,table,html}" in simulate_help


def test_validate_invalid_json_exits_2(tmp_path: Path) -> None:
    result = cli("validate", write_input(tmp_path, "p.json", "{not json"))
    assert_one_line_error(result, "policy file is not valid JSON: Expecting property name")


def test_validate_non_utf8_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b'{"rules": "\xff"}')
    assert_one_line_error(cli("validate", path), "policy file is not UTF-8 text")


def test_validate_missing_file_exits_2(tmp_path: Path) -> None:
    result = cli("validate", tmp_path / "absent.json")
    assert_one_line_error(result, "cannot read policy file: No such file or directory")


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000, '{"rules": ' + "[" * 100_000],
    ids=["brackets", "inside-rules"],
)
def test_validate_deeply_nested_json_exits_2(tmp_path: Path, text: str) -> None:
    result = cli("validate", write_input(tmp_path, "p.json", text))
    assert_one_line_error(result, "policy file is nested too deeply to read")


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_project_stacks_validate_clean(stack: str) -> None:
    result = cli("validate", "--stack", stack)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_unknown_stack_exits_2() -> None:
    assert_one_line_error(cli("validate", "--stack", "nosuch"), "Pulumi.nosuch.yaml: cannot read")


def test_stack_name_cannot_escape_the_root() -> None:
    assert_one_line_error(cli("validate", "--stack", "../prod"), "is not a stack name")


def test_stack_rules_as_json_text(tmp_path: Path) -> None:
    text = json.dumps(json.dumps(WORKED_CLI_POLICY["rules"]))
    write_input(tmp_path, "Pulumi.s.yaml", f"config:\n  retail-registry:lifecycleRules: {text}\n")
    result = cli("validate", "--stack", "s", "--root", tmp_path)
    assert result.returncode == 0, result.stderr


def test_stack_file_in_working_directory_comes_first(tmp_path: Path) -> None:
    # The project root's Pulumi.prod.yaml is valid; the one in the working directory is not.
    write_input(tmp_path, "Pulumi.prod.yaml", "config:\n  retail-registry:lifecycleRules: []\n")
    result = cli("validate", "--stack", "prod", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "policy: rules: must hold 1 to 50 rules, got 0\n"
    # --root still wins over the working directory.
    result = cli("validate", "--stack", "prod", "--root", PROJECT_ROOT, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "ok\n")


def test_stack_file_falls_back_to_project_root(tmp_path: Path) -> None:
    result = cli("validate", "--stack", "dev", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")
    missing = cli("validate", "--stack", "nosuch", cwd=tmp_path)
    assert_one_line_error(missing, f"{PROJECT_ROOT / 'Pulumi.nosuch.yaml'}: cannot read")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("config:\n  retail-registry:lifecycleRules: " + "[" * 100_000, "stack file is nested"),
        (
            "config:\n  retail-registry:lifecycleRules: " + json.dumps("[" * 100_000),
            "retail-registry:lifecycleRules: nested too deeply to read",
        ),
    ],
    ids=["yaml", "json-text"],
)
def test_deeply_nested_stack_file_exits_2(tmp_path: Path, content: str, fragment: str) -> None:
    write_input(tmp_path, "Pulumi.deep.yaml", content)
    assert_one_line_error(cli("validate", "--stack", "deep", "--root", tmp_path), fragment)


def test_stack_file_with_bad_yaml_exits_2(tmp_path: Path) -> None:
    write_input(tmp_path, "Pulumi.bad.yaml", "config: [unclosed\n")
    assert_one_line_error(cli("validate", "--stack", "bad", "--root", tmp_path), "not valid YAML")


def test_usage_error_exits_2() -> None:
    result = cli("simulate", "--policy", "p.json")
    assert result.returncode == 2
    assert "--images" in result.stderr


def test_recursion_anywhere_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def too_deep(document: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(lifecycle_cli, "analyse", too_deep)
    assert (
        lifecycle_cli.main(["validate", str(write_input(tmp_path, "p.json", WORKED_CLI_POLICY))])
        == 2
    )
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: input is nested too deeply to process\n")
