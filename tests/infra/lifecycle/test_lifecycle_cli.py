"""`python -m infra.lifecycle` run as a subprocess from the project root."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.lifecycle import cli as lifecycle_cli

from .helpers import NOW, rule

ROOT = Path(__file__).resolve().parents[3]
PYTHON = ROOT / ".venv" / "bin" / "python"
WORKED_POLICY = {
    "rules": [
        rule(3, "untagged", count_type="sinceImagePushed", number=1),
        rule(1, patterns=["v*"], number=1),
        rule(2, patterns=["sha-*"], number=2),
    ]
}


def detail(digest: str, tags: list[str], age: timedelta, size: int = 100) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "imageDigest": digest,
        "imagePushedAt": (NOW - age).isoformat(),
        "imageSizeInBytes": size,
    }
    if tags:
        detail["imageTags"] = tags
    return detail


DAY = timedelta(days=1)
WORKED_IMAGES = {
    "imageDetails": [
        detail("sha256:i1", ["v1.0.0", "sha-a"], 30 * DAY),
        detail("sha256:i2", ["v1.1.0", "sha-b"], 20 * DAY),
        detail("sha256:i3", ["sha-c"], 10 * DAY),
        detail("sha256:i4", ["sha-d"], 5 * DAY),
        detail("sha256:i5", [], 3 * DAY),
        detail("sha256:i6", [], timedelta(hours=12)),
    ]
}


def cli(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    executable = PYTHON if PYTHON.exists() else Path(sys.executable)
    # PYTHONPATH keeps `infra` importable when the working directory is not the project root.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [str(executable), "-m", "infra.lifecycle", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def simulate_worked(
    tmp_path: Path, *extra: str, images: Any = None
) -> subprocess.CompletedProcess[str]:
    """`simulate` on the issue's worked example (or other `images`) with extra arguments."""
    return cli(
        "simulate",
        "--policy",
        write(tmp_path, "p.json", WORKED_POLICY),
        "--images",
        write(tmp_path, "i.json", WORKED_IMAGES if images is None else images),
        *extra,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_valid_policy_prints_ok(tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, "p.json", WORKED_POLICY))
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_validate_prints_ok_and_warnings_on_stderr(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, prefixes=["prod", "dev"], number=5), rule(2, prefixes=["v*"])]}
    result = cli("validate", write(tmp_path, "p.json", policy))
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
    result = cli("validate", write(tmp_path, "p.json", policy))
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
    result = cli("validate", write(tmp_path, "p.json", policy))
    assert result.returncode == 1
    assert result.stdout == (
        "rule 2 (rulePriority 2): selection: has the same tagPrefixList set as rule 1 "
        '(rulePriority 1) in storage class "standard"; ECR allows only one such rule\n'
    )
    assert [line.split(":")[0] for line in result.stderr.splitlines()] == ["warning", "warning"]


def test_validate_error_with_line_break_stays_one_line(tmp_path: Path) -> None:
    policy = {"rules": [{**rule(1, patterns=["v*"]), "bad\nkey": 1}]}
    result = cli("validate", write(tmp_path, "p.json", policy))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "rule 1 (rulePriority 1): bad\\nkey: unknown field; allowed: rulePriority, description, "
        "selection, action"
    ]


def test_validate_json_format_valid(tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, "p.json", WORKED_POLICY), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "errors": [], "warnings": []}
    assert result.stderr == ""


def test_validate_json_format_lists_errors_and_warnings(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, prefixes=["a", "b"]), rule(2, prefixes=["b", "a"])]}
    result = cli("validate", write(tmp_path, "p.json", policy), "--format", "json")
    assert result.returncode == 1
    output = json.loads(result.stdout)
    assert output["ok"] is False
    assert len(output["errors"]) == 1 and len(output["warnings"]) == 2
    assert output["errors"][0].startswith("rule 2 (rulePriority 2): selection: has the same")


def test_validate_json_format_empty_policy(tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, "p.json", {"rules": []}), "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"] == ["policy: rules: must hold 1 to 50 rules, got 0"]


def test_validate_has_no_table_format(tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, "p.json", WORKED_POLICY), "--format", "table")
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
    assert "{json,table}" in simulate_help


def test_validate_invalid_json_exits_2(tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, "p.json", "{not json"))
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
    result = cli("validate", write(tmp_path, "p.json", text))
    assert_one_line_error(result, "policy file is nested too deeply to read")


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_project_stacks_validate_clean(stack: str) -> None:
    result = cli("validate", "--stack", stack)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_unknown_stack_exits_2() -> None:
    assert_one_line_error(cli("validate", "--stack", "nosuch"), "Pulumi.nosuch.yaml: cannot read")


def test_stack_name_cannot_escape_the_root() -> None:
    assert_one_line_error(cli("validate", "--stack", "../prod"), "is not a stack name")


def test_stack_without_rules_uses_defaults(tmp_path: Path) -> None:
    write(tmp_path, "Pulumi.bare.yaml", "config:\n  aws:region: ap-southeast-1\n")
    result = cli(
        "simulate",
        "--stack",
        "bare",
        "--root",
        tmp_path,
        "--images",
        write(tmp_path, "i.json", WORKED_IMAGES),
        "--now",
        NOW.isoformat(),
    )
    assert result.returncode == 0, result.stderr
    # Defaults: untagged after 1 day, 10 v*, 30 sha-*: only I5 goes.
    assert [r["imageDigest"] for r in json.loads(result.stdout)["previewResults"]] == ["sha256:i5"]


def test_stack_rules_as_json_text(tmp_path: Path) -> None:
    text = json.dumps(json.dumps(WORKED_POLICY["rules"]))
    write(tmp_path, "Pulumi.s.yaml", f"config:\n  retail-registry:lifecycleRules: {text}\n")
    result = cli("validate", "--stack", "s", "--root", tmp_path)
    assert result.returncode == 0, result.stderr


def test_stack_file_in_working_directory_comes_first(tmp_path: Path) -> None:
    # The project root's Pulumi.prod.yaml is valid; the one in the working directory is not.
    write(tmp_path, "Pulumi.prod.yaml", "config:\n  retail-registry:lifecycleRules: []\n")
    result = cli("validate", "--stack", "prod", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "policy: rules: must hold 1 to 50 rules, got 0\n"
    # --root still wins over the working directory.
    result = cli("validate", "--stack", "prod", "--root", ROOT, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "ok\n")


def test_stack_file_falls_back_to_project_root(tmp_path: Path) -> None:
    result = cli("validate", "--stack", "dev", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")
    missing = cli("validate", "--stack", "nosuch", cwd=tmp_path)
    assert_one_line_error(missing, f"{ROOT / 'Pulumi.nosuch.yaml'}: cannot read")


def test_simulate_reads_stack_file_from_working_directory(tmp_path: Path) -> None:
    rules = json.dumps(json.dumps([rule(1, "untagged", count_type="sinceImagePushed")]))
    write(tmp_path, "Pulumi.local.yaml", f"config:\n  retail-registry:lifecycleRules: {rules}\n")
    images = write(tmp_path, "i.json", WORKED_IMAGES)
    result = cli(
        "simulate", "--stack", "local", "--images", images, "--now", NOW.isoformat(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert [r["imageDigest"] for r in json.loads(result.stdout)["previewResults"]] == ["sha256:i5"]


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
    write(tmp_path, "Pulumi.deep.yaml", content)
    assert_one_line_error(cli("validate", "--stack", "deep", "--root", tmp_path), fragment)


def test_stack_file_with_bad_yaml_exits_2(tmp_path: Path) -> None:
    write(tmp_path, "Pulumi.bad.yaml", "config: [unclosed\n")
    assert_one_line_error(cli("validate", "--stack", "bad", "--root", tmp_path), "not valid YAML")


def test_simulate_worked_example(tmp_path: Path) -> None:
    result = simulate_worked(tmp_path, "--now", "2026-11-28T00:00:00Z", "--price-per-gb", "1000")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert [
        (r["imageDigest"], r["appliedRulePriority"], r["action"]["type"])
        for r in output["previewResults"]
    ] == [("sha256:i1", 1, "EXPIRE"), ("sha256:i5", 3, "EXPIRE")]
    assert output["summary"]["retainedBytes"] == 400
    # Unrounded: 400 bytes of binary GB (2**30 bytes) at $1000 per GB-month.
    assert output["summary"]["estimatedMonthlyStorageUsd"] == 400 / 2**30 * 1000


def test_simulate_table(tmp_path: Path) -> None:
    result = simulate_worked(tmp_path, "--now", "2026-11-28T00:00:00Z", "--format", "table")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PRIORITY", "ACTION", "PUSHED", "DIGEST", "TAGS"]
    assert lines[1].split() == ["1", "EXPIRE", "2026-10-29T00:00:00Z", "sha256:i1", "v1.0.0,sha-a"]
    assert "expiringImageTotalCount: 2" in lines


def test_simulate_invalid_policy_exits_1(tmp_path: Path) -> None:
    result = cli(
        "simulate",
        "--policy",
        write(tmp_path, "p.json", {"rules": [{}]}),
        "--images",
        write(tmp_path, "i.json", WORKED_IMAGES),
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "error: rule 1 (rulePriority missing): rulePriority: required" in result.stderr


@pytest.mark.parametrize(
    ("images", "extra", "fragment"),
    [
        ({"imageDetails": [{"imageDigest": "d"}]}, [], "imageDetails[0].imagePushedAt: required"),
        ("[", [], "images file is not valid JSON"),
        (WORKED_IMAGES, ["--now", "next tuesday"], "--now: not an ISO-8601 timestamp"),
        (WORKED_IMAGES, ["--price-per-gb", "-1"], "--price-per-gb: must be a finite number >= 0"),
        (WORKED_IMAGES, ["--price-per-gb", "inf"], "--price-per-gb: must be a finite number >= 0"),
        (WORKED_IMAGES, ["--price-per-gb", "nan"], "--price-per-gb: must be a finite number >= 0"),
        (WORKED_IMAGES, ["--price-per-gb=-inf"], "--price-per-gb: must be a finite number >= 0"),
        ("[" * 100_000, [], "images file is nested too deeply to read"),
    ],
)
def test_simulate_bad_input_exits_2(
    tmp_path: Path, images: Any, extra: list[str], fragment: str
) -> None:
    result = simulate_worked(tmp_path, *extra, images=images)
    assert_one_line_error(result, fragment)


@pytest.mark.parametrize(("stack", "releases", "builds"), [("prod", 10, 30), ("dev", 3, 10)])
def test_stack_simulation_keeps_newest_of_each_family(
    tmp_path: Path, stack: str, releases: int, builds: int
) -> None:
    details = [detail(f"sha256:r{n:02d}", [f"v1.{n}.0"], n * DAY) for n in range(1, 41)]
    details += [detail(f"sha256:b{n:02d}", [f"sha-{n:04x}"], n * DAY) for n in range(1, 41)]
    details += [detail("sha256:u-new", [], timedelta(hours=2)), detail("sha256:u-old", [], 2 * DAY)]
    result = cli(
        "simulate",
        "--stack",
        stack,
        "--now",
        NOW.isoformat(),
        "--images",
        write(tmp_path, "i.json", {"imageDetails": details}),
    )
    assert result.returncode == 0, result.stderr
    gone = {r["imageDigest"] for r in json.loads(result.stdout)["previewResults"]}
    assert "sha256:r01" not in gone and "sha256:b01" not in gone
    assert gone == (
        {f"sha256:r{n:02d}" for n in range(releases + 1, 41)}
        | {f"sha256:b{n:02d}" for n in range(builds + 1, 41)}
        | {"sha256:u-old"}
    )


def test_usage_error_exits_2() -> None:
    result = cli("simulate", "--policy", "p.json")
    assert result.returncode == 2
    assert "--images" in result.stderr


def test_simulate_huge_count_selects_nothing(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, "any", count_type="sinceImagePushed", number=1_000_000_000)]}
    result = cli(
        "simulate",
        "--policy",
        write(tmp_path, "p.json", policy),
        "--images",
        write(tmp_path, "i.json", WORKED_IMAGES),
        "--now",
        NOW.isoformat(),
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["previewResults"] == []
    assert output["summary"]["retainedImageCount"] == 6


def test_price_zero_is_accepted(tmp_path: Path) -> None:
    result = simulate_worked(tmp_path, "--price-per-gb", "0")
    assert result.returncode == 0, result.stderr
    estimate = json.loads(result.stdout)["summary"]["estimatedMonthlyStorageUsd"]
    assert estimate == 0 and math.isfinite(estimate)


def test_recursion_anywhere_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def too_deep(document: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(lifecycle_cli, "validate", too_deep)
    assert lifecycle_cli.main(["validate", str(write(tmp_path, "p.json", WORKED_POLICY))]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: input is nested too deeply to process\n")
