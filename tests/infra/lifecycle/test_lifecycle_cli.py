"""`python -m infra.lifecycle` run as a subprocess from the project root."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

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


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    executable = PYTHON if PYTHON.exists() else Path(sys.executable)
    return subprocess.run(
        [str(executable), "-m", "infra.lifecycle", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_valid_policy(tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, "p.json", WORKED_POLICY))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "errors": [], "warnings": []}
    assert result.stderr == ""


def test_validate_table_prints_ok_and_warnings_on_stderr(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, prefixes=["prod", "dev"], number=5)]}
    result = cli("validate", write(tmp_path, "p.json", policy), "--format", "table")
    assert (result.returncode, result.stdout) == (0, "ok\n")
    assert result.stderr.startswith("warning: rule 1 (rulePriority 1): selection.tagPrefixList")


def test_validate_invalid_policy_exits_1_with_one_line_per_error(tmp_path: Path) -> None:
    policy = {
        "rules": [
            rule(1, "untagged", prefixes=["v"], count_type="sinceImagePushed"),
            rule(1, patterns=["v*"], number=0),
        ]
    }
    result = cli("validate", write(tmp_path, "p.json", policy), "--format", "table")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0] == (
        'rule 1 (rulePriority 1): selection.tagPrefixList: not allowed with tagStatus "untagged"'
    )
    assert result.stderr.splitlines() == [f"error: {line}" for line in lines]


def test_validate_json_lists_errors(tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, "p.json", {"rules": []}))
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"] == ["policy: rules: must hold 1 to 50 rules, got 0"]


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


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_project_stacks_validate_clean(stack: str) -> None:
    result = cli("validate", "--stack", stack)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "errors": [], "warnings": []}


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


def test_stack_file_with_bad_yaml_exits_2(tmp_path: Path) -> None:
    write(tmp_path, "Pulumi.bad.yaml", "config: [unclosed\n")
    assert_one_line_error(cli("validate", "--stack", "bad", "--root", tmp_path), "not valid YAML")


def test_simulate_worked_example(tmp_path: Path) -> None:
    result = cli(
        "simulate",
        "--policy",
        write(tmp_path, "p.json", WORKED_POLICY),
        "--images",
        write(tmp_path, "i.json", WORKED_IMAGES),
        "--now",
        "2026-11-28T00:00:00Z",
        "--price-per-gb",
        "1000",
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert [
        (r["imageDigest"], r["appliedRulePriority"], r["action"]["type"])
        for r in output["previewResults"]
    ] == [("sha256:i1", 1, "EXPIRE"), ("sha256:i5", 3, "EXPIRE")]
    assert output["summary"]["retainedBytes"] == 400
    assert output["summary"]["estimatedMonthlyStorageUsd"] == round(400 / 1024**3 * 1000, 4)


def test_simulate_table(tmp_path: Path) -> None:
    result = cli(
        "simulate",
        "--policy",
        write(tmp_path, "p.json", WORKED_POLICY),
        "--images",
        write(tmp_path, "i.json", WORKED_IMAGES),
        "--now",
        "2026-11-28T00:00:00Z",
        "--format",
        "table",
    )
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
        (WORKED_IMAGES, ["--price-per-gb", "-1"], "--price-per-gb: must be a non-negative"),
    ],
)
def test_simulate_bad_input_exits_2(
    tmp_path: Path, images: Any, extra: list[str], fragment: str
) -> None:
    result = cli(
        "simulate",
        "--policy",
        write(tmp_path, "p.json", WORKED_POLICY),
        "--images",
        write(tmp_path, "i.json", images),
        *extra,
    )
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
