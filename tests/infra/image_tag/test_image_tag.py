"""The content tag: same inputs, same tag on every machine; any change to what Docker sees, a
new tag. Expected tags are derived here from the record format in the module docstring."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.image_tag import (
    BaseImageError,
    BuildPlan,
    build_files,
    build_plan,
    content_tag,
    pinned_base_image,
)
from infra.paths import PROJECT_ROOT, SERVER_DIR

from .conftest import PINNED, PLATFORM, dockerfile_text, write_files

OTHER_PIN = "python:3.11-slim@sha256:" + "cd" * 32


@pytest.fixture
def context(tmp_path: Path) -> Path:
    root = write_files(
        tmp_path / "ctx",
        {
            "Dockerfile": dockerfile_text(),
            ".dockerignore": "# not sent\ntraining/\n**/__pycache__\n*.md\n!KEEP.md\n",
            "app/main.py": "print('hi')\n",
            "app/model/forest.npz": "arrays",
            "training/train.py": "heavy\n",
            "app/__pycache__/main.cpython-311.pyc": "bytecode",
            "NOTES.md": "notes",
            "KEEP.md": "kept",
        },
    )
    (root / "app/link").symlink_to("main.py")
    (root / "app/models").symlink_to("model")  # a link to a folder is sent, not walked
    return root


def retarget(link: Path, target: str) -> None:
    link.unlink()
    link.symlink_to(target)


def tag(context: Path, build_args: dict[str, str] | None = None, platform: str = PLATFORM) -> str:
    return content_tag(context, context / "Dockerfile", build_args or {"VERSION": "1"}, platform)


def plan_tag(context: Path, base_image: str | None = None) -> str:
    return build_plan(context, context / "Dockerfile", PLATFORM, base_image=base_image).tag


def test_build_files_follow_dockerignore(context: Path) -> None:
    assert build_files(context, context / "Dockerfile") == [
        ".dockerignore",
        "Dockerfile",
        "KEEP.md",
        "app/link",
        "app/main.py",
        "app/model/forest.npz",
        "app/models",
    ]


def test_a_dockerfile_specific_ignore_file_replaces_the_context_one(context: Path) -> None:
    # BuildKit reads `<Dockerfile>.dockerignore` first; the context's .dockerignore is unused.
    (context / "Dockerfile.dockerignore").write_text("app/model\n*.md\n")
    assert build_files(context, context / "Dockerfile") == [
        ".dockerignore",
        "Dockerfile",
        "Dockerfile.dockerignore",
        "app/__pycache__/main.cpython-311.pyc",
        "app/link",
        "app/main.py",
        "app/models",
        "training/train.py",
    ]
    before = tag(context)
    (context / "training/train.py").write_text("changed\n")
    assert tag(context) != before
    before = tag(context)
    (context / "NOTES.md").write_text("changed")
    (context / "app/model/forest.npz").write_text("other arrays")
    assert tag(context) == before
    (context / "Dockerfile.dockerignore").write_text("app/model\n")
    assert tag(context) != before


def test_the_specific_ignore_file_is_named_after_the_dockerfile(context: Path) -> None:
    dockerfile = context / "build/api.Dockerfile"
    write_files(context, {"build/api.Dockerfile": dockerfile_text()})
    (context / "Dockerfile.dockerignore").write_text("*\n")  # another Dockerfile's: unused
    (context / "build/api.Dockerfile.dockerignore").write_text("*\n!app/main.py\n")
    # The Dockerfile and the context's .dockerignore always travel (docker-py's rule).
    assert build_files(context, dockerfile) == [
        ".dockerignore",
        "app/main.py",
        "build/api.Dockerfile",
    ]
    (context / "build/api.Dockerfile.dockerignore").unlink()
    assert "KEEP.md" in build_files(context, dockerfile)
    assert "NOTES.md" not in build_files(context, dockerfile)


def test_stable_across_runs_creation_order_and_checkout_path(context: Path, tmp_path: Path) -> None:
    files = [p for p in context.rglob("*") if p.is_file() and not p.is_symlink()]
    texts = {str(p.relative_to(context)): p.read_text() for p in reversed(files)}
    elsewhere = write_files(tmp_path / "a" / "deeper" / "copy", texts)
    (elsewhere / "app/link").symlink_to("main.py")
    (elsewhere / "app/models").symlink_to("model")
    assert tag(context) == tag(context) == tag(elsewhere)


def test_ignores_mtimes_modes_but_the_x_bit_and_files_docker_never_sees(context: Path) -> None:
    before = tag(context)
    for path in context.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    (context / "app/main.py").chmod(0o664)
    (context / "KEEP.md").chmod(0o600)
    (context / "training/train.py").write_text("changed\n")
    (context / "NOTES.md").write_text("changed")
    (context / "app/__pycache__/x.pyc").write_text("x")
    assert tag(context) == before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: (c / "app/main.py").write_text("print('bye')\n"), id="content"),
        pytest.param(lambda c: (c / "app/main.py").rename(c / "app/srv.py"), id="rename"),
        pytest.param(lambda c: (c / "app/main.py").chmod(0o744), id="executable-bit"),
        pytest.param(lambda c: (c / ".dockerignore").write_text("training/\n"), id="dockerignore"),
        pytest.param(
            lambda c: (c / "Dockerfile").write_text(dockerfile_text() + "USER 1\n"), id="df"
        ),
        pytest.param(lambda c: (c / "app/link").unlink(), id="symlink-removed"),
        pytest.param(lambda c: retarget(c / "app/link", "forest.npz"), id="symlink-target"),
        pytest.param(lambda c: retarget(c / "app/models", "."), id="folder-symlink-target"),
    ],
)
def test_changes_when_what_docker_receives_changes(
    context: Path, change: Callable[[Path], object]
) -> None:
    before = tag(context)
    change(context)
    assert tag(context) != before


def test_build_arg_names_values_and_platform_count_but_revision_does_not(context: Path) -> None:
    before = tag(context, {"VERSION": "1"})
    assert tag(context, {"VERSION": "2"}) != before
    assert tag(context, {"VERSIONS": "1"}) != before
    assert tag(context, platform="linux/arm64") != before
    assert tag(context, {"VERSION": "1", "REVISION": "sha-anything"}) == before


def test_dockerfile_outside_the_context_counts(tmp_path: Path, context: Path) -> None:
    outside = write_files(tmp_path / "elsewhere", {"Dockerfile": dockerfile_text()})
    before = content_tag(context, outside / "Dockerfile", {}, PLATFORM)
    (outside / "Dockerfile").write_text(dockerfile_text() + "USER 1\n")
    assert content_tag(context, outside / "Dockerfile", {}, PLATFORM) != before


@pytest.mark.parametrize(
    "base",
    [
        PINNED,
        "docker.io/library/python:3.11-slim@sha256:" + "0" * 64,
        "registry.example.com:5000/mirror/library/python:3.11-slim@sha256:" + "1" * 64,
        f'"{PINNED}"',
    ],
)
def test_pinned_base_is_read_from_the_arg_line(tmp_path: Path, base: str) -> None:
    write_files(tmp_path, {"Dockerfile": dockerfile_text(base)})
    assert pinned_base_image(tmp_path / "Dockerfile") == base.strip('"')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM python:3.11-slim\n", "no `ARG BASE_IMAGE=<name>@sha256:<64 hex>` before"),
        (f"FROM scratch\nARG BASE_IMAGE={PINNED}\n", "before the first FROM"),
        (dockerfile_text("python:3.11-slim"), "got 'python:3.11-slim'"),
        (dockerfile_text("python@sha256:abc"), "must pin the base by digest"),
        (dockerfile_text("python@sha256:" + "AB" * 32), "must pin the base by digest"),
    ],
)
def test_unpinned_base_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    write_files(tmp_path, {"Dockerfile": text})
    with pytest.raises(BaseImageError, match="BASE_IMAGE") as raised:
        pinned_base_image(tmp_path / "Dockerfile")
    assert message in str(raised.value)


def test_the_base_actually_used_is_in_the_tag(context: Path) -> None:
    pinned = plan_tag(context)
    assert plan_tag(context, base_image=PINNED) == pinned  # the same base, spelled out
    assert plan_tag(context, base_image="retail-test-base:bookworm") != pinned
    (context / "Dockerfile").write_text(dockerfile_text(OTHER_PIN))
    assert plan_tag(context) not in {pinned, plan_tag(context, base_image="x:1")}


def test_a_tag_override_is_pushed_but_the_revision_label_is_the_content_tag(context: Path) -> None:
    plan = build_plan(context, context / "Dockerfile", PLATFORM, "v1.2.3")
    assert (plan.tag, plan.base_image) == ("v1.2.3", PINNED)
    assert plan.content_tag == plan.build_args["REVISION"] == plan_tag(context)


def git(*args: str, cwd: Path, umask: int = 0o022) -> None:
    identity = "-c user.name=t -c user.email=t@example.test -c commit.gpgsign=false"
    command = f"umask {umask:03o} && git {identity} {shlex.join(args)}"
    subprocess.run(["sh", "-c", command], cwd=cwd, check=True)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """This project's server/ and pyproject.toml plus one executable, committed to a fresh
    repository (git keeps only the x bit of a file's mode)."""
    root = tmp_path / "origin"
    skip = shutil.ignore_patterns("__pycache__", ".*_cache")
    shutil.copytree(SERVER_DIR, root / "server", ignore=skip)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    write_files(root, {"server/retail_api/entry.sh": "#!/bin/sh\n"})
    (root / "server/retail_api/entry.sh").chmod(0o755)
    for args in (("init", "-q", "."), ("add", "."), ("commit", "-q", "-m", "c")):
        git(*args, cwd=root)
    return root


def clone(origin: Path, destination: Path, umask: int) -> Path:
    """The clone's build context (`server/`), checked out under `umask`."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    git("clone", "-q", str(origin), str(destination), cwd=destination.parent, umask=umask)
    return destination / "server"


def plan_of(server: Path) -> BuildPlan:
    return build_plan(server, server / "Dockerfile", PLATFORM, project_root=server.parent)


def modes(server: Path) -> list[int]:
    return [
        (server / name).stat().st_mode & 0o777 for name in ("retail_api/entry.sh", "Dockerfile")
    ]


def test_two_clones_with_different_umasks_get_the_same_tag_and_engine_inputs(
    origin: Path, tmp_path: Path
) -> None:
    ci = clone(origin, tmp_path / "ci", 0o022)
    laptop = clone(origin, tmp_path / "home" / "me" / "laptop", 0o002)
    # The clones really differ in modes (else this test proves nothing).
    assert (modes(ci), modes(laptop)) == ([0o755, 0o644], [0o775, 0o664])
    assert plan_of(laptop) == plan_of(ci)
    assert (plan_of(ci).context, plan_of(ci).dockerfile) == ("server", "server/Dockerfile")
    for path in laptop.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert plan_of(laptop) == plan_of(ci)
    with (laptop / "retail_api/__init__.py").open("a") as file:
        file.write("# a change\n")
    assert plan_of(laptop).tag != plan_of(ci).tag


def test_real_server_context_excludes_training_and_tests() -> None:
    files = build_files(SERVER_DIR, SERVER_DIR / "Dockerfile")
    assert files, "server/ sends nothing to the daemon"
    assert not [f for f in files if f.startswith(("training/", "tests/")) or "__pycache__" in f]
    assert any(f.startswith("retail_api/") for f in files)


def test_the_server_context_has_no_dockerfile_specific_ignore_file() -> None:
    """The builders disagree about it: BuildKit clients read `Dockerfile.dockerignore` first,
    while pulumi-docker 4.x (which tars the context itself) and the legacy builder read only
    `.dockerignore` for a Dockerfile named `Dockerfile`. With both files present, a file one
    of them lets through could reach the image without changing the tag."""
    assert not (SERVER_DIR / "Dockerfile.dockerignore").exists()
    assert (SERVER_DIR / ".dockerignore").is_file()
