"""The content tag: same inputs, same tag; any change to what Docker sees, a new tag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.image_tag import build_files, build_plan, content_tag, digest_of
from infra.settings import PROJECT_ROOT, SERVER_DIR

PLATFORM = "linux/amd64"


def make_context(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def context(tmp_path: Path) -> Path:
    return make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM base\nCOPY app /app\n",
            ".dockerignore": "# not sent\ntraining/\n**/__pycache__\n*.md\n!KEEP.md\n",
            "app/main.py": "print('hi')\n",
            "app/model/forest.npz": "arrays",
            "training/train.py": "heavy\n",
            "app/__pycache__/main.cpython-311.pyc": "bytecode",
            "NOTES.md": "notes",
            "KEEP.md": "kept",
        },
    )


def tag(context: Path, build_args: dict[str, str] | None = None, platform: str = PLATFORM) -> str:
    return content_tag(context, context / "Dockerfile", build_args or {"VERSION": "1"}, platform)


def test_tag_shape(context: Path) -> None:
    value = tag(context)
    assert value.startswith("sha-")
    assert len(value) == len("sha-") + 12
    int(value[4:], 16)


def test_build_files_follow_dockerignore(context: Path) -> None:
    assert build_files(context, context / "Dockerfile") == [
        ".dockerignore",
        "Dockerfile",
        "KEEP.md",
        "app/main.py",
        "app/model/forest.npz",
    ]


def test_stable_across_runs_and_creation_order(context: Path, tmp_path: Path) -> None:
    files = {
        str(path.relative_to(context)): path.read_text()
        for path in context.rglob("*")
        if path.is_file()
    }
    reversed_copy = make_context(tmp_path / "copy", dict(reversed(list(files.items()))))
    assert tag(context) == tag(context) == tag(reversed_copy)


def test_changes_when_a_built_file_changes(context: Path) -> None:
    before = tag(context)
    (context / "app/main.py").write_text("print('bye')\n")
    assert tag(context) != before


def test_changes_when_a_file_is_renamed(context: Path) -> None:
    before = tag(context)
    (context / "app/main.py").rename(context / "app/server.py")
    assert tag(context) != before


def test_changes_when_executable_bit_changes(context: Path) -> None:
    before = tag(context)
    (context / "app/main.py").chmod(0o755)
    assert tag(context) != before


def test_ignores_files_excluded_by_dockerignore(context: Path) -> None:
    before = tag(context)
    (context / "training/train.py").write_text("changed\n")
    (context / "training/new.py").write_text("new\n")
    (context / "NOTES.md").write_text("changed")
    (context / "app/__pycache__/x.pyc").write_text("x")
    assert tag(context) == before


def test_changes_with_dockerfile_build_args_and_platform(context: Path) -> None:
    before = tag(context)
    assert tag(context, build_args={"VERSION": "2"}) != before
    assert tag(context, platform="linux/arm64") != before
    (context / "Dockerfile").write_text("FROM base\nCOPY app /srv\n")
    assert tag(context) != before


def test_changes_when_dockerignore_changes_what_is_sent(context: Path) -> None:
    before = tag(context)
    (context / ".dockerignore").write_text("training/\n")
    assert tag(context) != before


def test_plan_carries_the_content_tag_as_revision(context: Path) -> None:
    plan = build_plan(context, context / "Dockerfile", PLATFORM)
    assert plan.tag == plan.content_tag == plan.build_args["REVISION"]
    overridden = build_plan(context, context / "Dockerfile", PLATFORM, tag_override="v1.2.3")
    assert overridden.tag == "v1.2.3"
    assert overridden.build_args["REVISION"] == plan.content_tag


def test_real_server_context_excludes_training_and_tests() -> None:
    files = build_files(SERVER_DIR, SERVER_DIR / "Dockerfile")
    assert files, "server/ sends nothing to the daemon"
    assert not [f for f in files if f.startswith(("training/", "tests/")) or "__pycache__" in f]
    assert any(f.startswith("retail_api/") for f in files)
    assert any(f.startswith("model/") for f in files)


def test_cli_prints_the_same_tag_as_the_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.image_tag", "--context", "server", "--platform", PLATFORM],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    expected = build_plan(SERVER_DIR, SERVER_DIR / "Dockerfile", PLATFORM).tag
    assert result.stdout.strip() == expected


def test_cli_rejects_a_missing_context(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.image_tag", "--context", str(tmp_path / "nope")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "--context" in result.stderr
    assert "Traceback" not in result.stderr


def test_digest_is_taken_from_the_repo_digest() -> None:
    digest = "sha256:" + "ab" * 32
    assert (
        digest_of(f"842676018087.dkr.ecr.ap-southeast-1.amazonaws.com/mlops/retail-api@{digest}")
        == digest
    )


@pytest.mark.parametrize(
    "bad", ["", "repo", "repo@sha256:abc", "repo@md5:" + "a" * 64, "repo@sha256:" + "G" * 64]
)
def test_malformed_repo_digest_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="repoDigest"):
        digest_of(bad)
