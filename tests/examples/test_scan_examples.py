"""examples/scan/ and the commands of docs/scan-gate.md's "Try it offline", run as written.

Each command in that section is a ```bash block ending in `# exit N`, followed by a ```text
block with its whole output; the test runs the command from the repository root and compares
the exit code and every line. The example files are held to the ECR API's own output shape
(botocore's service model of DescribeImageScanFindings), so a misspelt field cannot hide.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Mapping
from typing import Any

import botocore.session
import pytest

from infra.paths import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "examples" / "scan"
DOC = (PROJECT_ROOT / "docs" / "scan-gate.md").read_text()
_SECTION = re.search(r"^## Try it offline$(.*?)(?=^## |\Z)", DOC, re.MULTILINE | re.DOTALL)
SECTION = _SECTION.group(1) if _SECTION else ""
COMMANDS = re.findall(
    r"```bash\n(?P<command>[^\n]+?)  # exit (?P<code>\d)\n```\n\n```text\n(?P<output>.*?)```",
    SECTION,
    re.DOTALL,
)
FINDINGS_FILES = ("basic.json", "enhanced.json", "unfinished.json")


def test_the_section_runs_every_example_file_and_every_exit_code() -> None:
    # Every bash block of the section is a command the test below runs.
    assert SECTION.count("```bash") == len(COMMANDS) == 7
    used = " ".join(command for command, _, _ in COMMANDS)
    for name in (*FINDINGS_FILES, "ignore.yaml"):
        assert f"examples/scan/{name}" in used, name
    assert sorted({code for _, code, _ in COMMANDS}) == ["0", "1", "2"]


@pytest.mark.parametrize(("command", "code", "output"), COMMANDS, ids=lambda v: v[:60])
def test_doc_command_runs_as_written(command: str, code: str, output: str) -> None:
    words = shlex.split(command)
    assert words[:3] == [".venv/bin/python", "-m", "infra.scan_gate"]
    done = subprocess.run(
        words, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == int(code), done.stdout + done.stderr
    # Verdicts go to stdout, bad input to stderr (one line), never both.
    shown, silent = (done.stderr, done.stdout) if code == "2" else (done.stdout, done.stderr)
    assert silent == ""
    assert shown.splitlines() == output.splitlines()


# botocore's scalar shape types as JSON values; the AWS CLI prints timestamps as strings.
_SCALARS: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "timestamp": str,
    "integer": int,
    "long": int,
    "double": (int, float),
    "boolean": bool,
}


def _shape_problems(value: object, shape: Any, where: str) -> list[str]:
    """Where `value` strays from botocore's output shape: unknown keys, wrong types, values
    outside an enum."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            return [f"{where}: not an object"]
        problems = [
            f"{where}.{key}: not in {shape.name}" for key in value if key not in shape.members
        ]
        for key, item in value.items():
            if key in shape.members:
                problems += _shape_problems(item, shape.members[key], f"{where}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [
            problem
            for index, item in enumerate(value)
            for problem in _shape_problems(item, shape.member, f"{where}[{index}]")
        ]
    if kind == "map":
        if not isinstance(value, Mapping):
            return [f"{where}: not an object"]
        return [
            problem
            for key, item in value.items()
            for problem in _shape_problems(key, shape.key, f"{where} key")
            + _shape_problems(item, shape.value, f"{where}.{key}")
        ]
    expected = _SCALARS[kind]
    if not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool)):
        return [f"{where}: {value!r} is not a {kind}"]
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        return [f"{where}: {value!r} not one of {enum}"]
    return []


@pytest.fixture(scope="module")
def response_shape() -> Any:
    model = botocore.session.get_session().get_service_model("ecr")
    return model.operation_model("DescribeImageScanFindings").output_shape


@pytest.mark.parametrize("name", FINDINGS_FILES)
def test_example_has_the_api_output_shape(name: str, response_shape: Any) -> None:
    document = json.loads((EXAMPLES / name).read_text())
    assert _shape_problems(document, response_shape, name) == []


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return document


def test_basic_example_is_a_finished_basic_scan() -> None:
    document = _load("basic.json")
    block = document["imageScanFindings"]
    assert document["imageScanStatus"]["status"] == "COMPLETE"
    assert block["imageScanCompletedAt"] == "2026-11-30T09:14:27.513000+00:00"
    assert "enhancedFindings" not in block
    assert [(f["name"], f["severity"]) for f in block["findings"]] == [
        ("CVE-2023-45853", "CRITICAL"),
        ("CVE-2023-31484", "HIGH"),
        ("CVE-2023-50495", "MEDIUM"),
        ("CVE-2023-4039", "MEDIUM"),
        ("CVE-2011-3374", "LOW"),
    ]
    assert block["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 2, "LOW": 1}


def test_enhanced_example_shows_every_fix_state_and_a_suppressed_finding() -> None:
    document = _load("enhanced.json")
    block = document["imageScanFindings"]
    assert document["imageScanStatus"]["status"] == "ACTIVE"
    assert block["imageScanCompletedAt"] == "2026-12-01T21:40:07.902000+00:00"
    assert "findings" not in block
    found = [
        (
            f["packageVulnerabilityDetails"]["vulnerabilityId"],
            f["severity"],
            f["fixAvailable"],
            f["status"],
        )
        for f in block["enhancedFindings"]
    ]
    assert found == [
        ("CVE-2023-45853", "CRITICAL", "NO", "ACTIVE"),
        ("CVE-2025-47273", "HIGH", "YES", "ACTIVE"),
        ("CVE-2023-31484", "HIGH", "NO", "SUPPRESSED"),
        ("CVE-2023-4039", "MEDIUM", "PARTIAL", "ACTIVE"),
        ("CVE-2011-3374", "LOW", "NO", "ACTIVE"),
    ]
    # Same image as the basic example: one image under the two registry scanning modes.
    assert document["imageId"] == _load("basic.json")["imageId"]


def test_unfinished_example_has_an_empty_list_and_no_completion_time() -> None:
    document = _load("unfinished.json")
    assert document["imageScanStatus"]["status"] == "ACTIVE"
    assert document["imageScanFindings"] == {"enhancedFindings": []}


def test_the_folder_holds_the_examples_the_doc_describes() -> None:
    listed = sorted(path.name for path in EXAMPLES.iterdir())
    assert listed == ["basic.json", "enhanced.json", "ignore.yaml", "unfinished.json"]
    for name in listed:
        assert f"`{name}`" in SECTION, name
