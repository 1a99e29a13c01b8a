"""`python -m infra.image_tag`, run in a project of its own: the documented tag, build args
and one clear error for bad input. The expected tag is derived from the module docstring's
record format."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.cli import image_tag as image_tag_cli
from infra.paths import PROJECT_ROOT
from testkit.cli import run_module

from .conftest import PINNED, PLATFORM, write_files

PYPROJECT = '[project]\nname = "p"\nversion = "1.2.3"\n'

CLI_DOCKERFILE = f"ARG BASE_IMAGE={PINNED}\nFROM ${{BASE_IMAGE}}\nCOPY app.py run.sh /app/\n"
CLI_APP = "print('hi')\n"
CLI_RUN = "#!/bin/sh\nexec python /app/app.py\n"
# `sha-` + 12 hex of SHA-256 over the documented records of the `project` fixture below:
# three files (run.sh executable), the Dockerfile, two args (sorted) and the platform.
CLI_RECORDS = (
    f"file\x00Dockerfile\x00-\x00{hashlib.sha256(CLI_DOCKERFILE.encode()).hexdigest()}\n"
    f"file\x00app.py\x00-\x00{hashlib.sha256(CLI_APP.encode()).hexdigest()}\n"
    f"file\x00run.sh\x00x\x00{hashlib.sha256(CLI_RUN.encode()).hexdigest()}\n"
    f"dockerfile\x00{hashlib.sha256(CLI_DOCKERFILE.encode()).hexdigest()}\n"
    f"arg\x00BASE_IMAGE\x00{PINNED}\n"
    "arg\x00VERSION\x001.2.3\n"
    "platform\x00linux/amd64\n"
)
CLI_TAG = "sha-af67403a3122"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of `infra/` in a project of its own, so its PROJECT_ROOT and VERSION are fixed."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "infra", root / "infra", ignore=shutil.ignore_patterns("__py*"))
    write_files(
        root,
        {
            "pyproject.toml": PYPROJECT,
            "server/Dockerfile": CLI_DOCKERFILE,
            "server/app.py": CLI_APP,
            "server/run.sh": CLI_RUN,
        },
    )
    (root / "server/run.sh").chmod(0o755)
    return root


def cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("infra.image_tag", *args, cwd=project)


def test_cli_prints_the_documented_tag_and_build_args(project: Path) -> None:
    assert "sha-" + hashlib.sha256(CLI_RECORDS.encode()).hexdigest()[:12] == CLI_TAG
    for args in ((), ("--context", "server", "--platform", PLATFORM)):
        result = cli(project, *args)
        assert (result.returncode, result.stdout, result.stderr) == (0, CLI_TAG + "\n", "")
    args_out = cli(project, "--build-args").stdout
    assert args_out == f"BASE_IMAGE={PINNED}\nREVISION={CLI_TAG}\nVERSION=1.2.3\n"


def test_cli_base_override_gets_a_tag_of_its_own(project: Path) -> None:
    records = CLI_RECORDS.replace(f"BASE_IMAGE\x00{PINNED}", "BASE_IMAGE\x00stand-in:1")
    stand_in = "sha-" + hashlib.sha256(records.encode()).hexdigest()[:12]
    assert cli(project, "--base-image", "stand-in:1").stdout == stand_in + "\n"
    lines = cli(project, "--base-image", "stand-in:1", "--build-args").stdout.splitlines()
    assert lines == ["BASE_IMAGE=stand-in:1", f"REVISION={stand_in}", "VERSION=1.2.3"]


@pytest.mark.parametrize(
    ("args", "dockerfile", "message"),
    [
        (("--context", "nope"), CLI_DOCKERFILE, "--context: nope is not a directory"),
        ((), "FROM python:3.11-slim\n", "no `ARG BASE_IMAGE=<name>@sha256:<64 hex>` before"),
        (("--base-image", "a b"), CLI_DOCKERFILE, "BASE_IMAGE: 'a b' is not an image reference"),
        (("--base-image=-rm",), CLI_DOCKERFILE, "BASE_IMAGE: '-rm' is not an image reference"),
        (("--base-image", "Python:3"), CLI_DOCKERFILE, "BASE_IMAGE: 'Python:3' is not an image"),
        (("--base-image", "x@sha256:1"), CLI_DOCKERFILE, "BASE_IMAGE: 'x@sha256:1' is not an"),
    ],
)
def test_cli_bad_input_is_one_clear_error(
    project: Path, args: tuple[str, ...], dockerfile: str, message: str
) -> None:
    (project / "server/Dockerfile").write_text(dockerfile)
    result = cli(project, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("relative", "content", "message"),
    [
        (
            "server/Dockerfile",
            b"ARG BASE_IMAGE=x\n\xff\n",
            "server/Dockerfile: not UTF-8 text (invalid start byte at byte 17)",
        ),
        (
            "server/.dockerignore",
            b"*.pyc\n\xfe\n",
            "server/.dockerignore: not UTF-8 text (invalid start byte at byte 6)",
        ),
        (
            "pyproject.toml",
            b"[project\n",
            "pyproject.toml: no readable [project] version: ",
        ),
    ],
)
def test_cli_unreadable_text_file_is_one_error_naming_it(
    project: Path, relative: str, content: bytes, message: str
) -> None:
    (project / relative).write_bytes(content)
    result = cli(project)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1].startswith("python -m infra.image_tag: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_unreadable_build_file_is_one_error_naming_it(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As root a chmod 000 file is still readable, so the read itself is made to fail.
    unreadable = project / "server/app.py"
    real_read_bytes = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path == unreadable:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(SystemExit) as exited:
        image_tag_cli.main(["--context", str(project / "server")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"python -m infra.image_tag: error: {unreadable}: cannot read: Permission denied"
    )


def script_platforms() -> dict[str, set[str]]:
    """The platforms each push script accepts, read from its check."""
    bash = (PROJECT_ROOT / "scripts/ecr_push.sh").read_text()
    powershell = (PROJECT_ROOT / "scripts/ecr_push.ps1").read_text()
    case = re.search(r'case "\$one" in\n\s*(?P<list>[^)]*)\)', bash)
    listed = re.search(r"\$one -cnotin @\((?P<list>[^)]*)\)", powershell)
    assert case is not None and listed is not None
    return {
        "ecr_push.sh": {item.strip() for item in case["list"].split("|")},
        "ecr_push.ps1": {item.strip(" '") for item in listed["list"].split(",")},
    }


def test_cli_accepts_exactly_the_platforms_the_push_scripts_accept(project: Path) -> None:
    accepted = {"linux/amd64", "linux/arm64", "linux/arm64/v8"}
    assert script_platforms() == {"ecr_push.sh": accepted, "ecr_push.ps1": accepted}
    tags = {platform: cli(project, "--platform", platform) for platform in sorted(accepted)}
    assert [result.returncode for result in tags.values()] == [0, 0, 0]
    assert len({result.stdout for result in tags.values()}) == 3
    for refused in ("linux/x86_64", "linux/arm/v7", "windows/amd64", "LINUX/AMD64", ""):
        result = cli(project, "--platform", refused)
        assert (result.returncode, result.stdout) == (2, "")
        assert f"argument --platform: invalid choice: '{refused}'" in result.stderr
        assert "Traceback" not in result.stderr
