"""The project's declared interface agrees with the code: config schema, defaults, lock exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import RetailRegistryArgs, keys_of, pulumi_schema
from infra.image_tag import build_plan
from infra.paths import PROJECT_ROOT, SERVER_DIR
from testkit.net import answers_ok, free_port, wait_for


def project() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())  # type: ignore[no-any-return]


def test_project_runs_python_with_uv() -> None:
    document = project()
    assert document["name"] == "retail-registry"
    assert document["runtime"]["name"] == "python"
    assert document["runtime"]["options"]["toolchain"] == "uv"
    assert (PROJECT_ROOT / "uv.lock").is_file()


def test_project_file_declares_the_key_table() -> None:
    """Pulumi.yaml's `config:` is the table in infra/config/settings.py, entry for entry."""
    assert project()["config"] == pulumi_schema(RetailRegistryArgs)


def test_every_key_is_typed_described_and_defaulted_as_pulumi_requires() -> None:
    # Pulumi's project schema (sdk/go/common/workspace/project.json): type is one of string,
    # integer, boolean, array, object; an array needs `items`; a typed key without a default
    # is required of every stack.
    for name, declaration in project()["config"].items():
        assert declaration["type"] in {"string", "integer", "boolean", "array"}, name
        assert ("items" in declaration) == (declaration["type"] == "array"), name
        assert declaration.get("description"), name
        assert "default" in declaration, f"{name} would be required by the engine"


def test_lifecycle_rules_are_a_typed_array_of_objects() -> None:
    declaration = project()["config"]["lifecycleRules"]
    assert declaration["type"] == "array"
    assert declaration["items"] == {"type": "object"}
    assert [rule["rulePriority"] for rule in declaration["default"]] == [1, 2, 3, 4]


def test_stack_files_use_only_declared_keys() -> None:
    declared = {key.name for key in keys_of(RetailRegistryArgs)}
    for path in PROJECT_ROOT.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(path.read_text())["config"]
        project_keys = {k.split(":", 1)[1] for k in config if k.startswith("retail-registry:")}
        assert project_keys <= declared, path.name


def test_server_requirements_are_exported_from_the_lock(tmp_path: Path) -> None:
    exported = tmp_path / "requirements.txt"
    subprocess.run(
        [
            str(PROJECT_ROOT / ".venv/bin/uv"),
            "export",
            "--frozen",
            "--only-group",
            "server",
            "--no-emit-project",
            "--no-header",
            "--format",
            "requirements-txt",
            "-o",
            str(exported),
        ],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    committed = (PROJECT_ROOT / "server/requirements.txt").read_text()
    assert committed == exported.read_text(), "run `make requirements`"
    assert "--hash=sha256:" in committed
    assert not re.search(r"^(scikit-learn|scipy|pandas|joblib)==", committed, re.MULTILINE)


def check_attr(*paths: str) -> dict[tuple[str, str], str]:
    """(path, attribute) -> value, as `git check-attr` reads this checkout's .gitattributes."""
    listed = subprocess.run(
        ["git", "check-attr", "text", "eol", "binary", "--", *paths],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found: dict[tuple[str, str], str] = {}
    for line in listed.splitlines():
        path, attribute, value = line.split(": ")
        found[(path, attribute)] = value
    return found


def test_text_files_check_out_with_lf_and_the_model_as_binary() -> None:
    text_files = ["server/Dockerfile", "server/.dockerignore", "scripts/ecr_push.ps1"]
    model = "server/artifact/forest.npz"
    found = check_attr(*text_files, model)
    for path in text_files:
        assert (found[(path, "text")], found[(path, "eol")]) == ("auto", "lf"), path
    assert (found[(model, "binary")], found[(model, "text")]) == ("set", "unset")


def git(*args: str, cwd: Path) -> None:
    identity = ["user.name=t", "user.email=t@example.test", "commit.gpgsign=false"]
    options = [part for setting in identity for part in ("-c", setting)]
    subprocess.run(["git", *options, *args], cwd=cwd, check=True, capture_output=True)


def windows_clone(tmp_path: Path, attributes: str | None) -> Path:
    """server/ and pyproject.toml committed with LF, then cloned with Git for Windows' default
    `core.autocrlf=true`; returns the clone's build context."""
    origin = tmp_path / "origin"
    skip = shutil.ignore_patterns("__pycache__", ".*_cache")
    shutil.copytree(SERVER_DIR, origin / "server", ignore=skip)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", origin / "pyproject.toml")
    if attributes is not None:
        (origin / ".gitattributes").write_text(attributes)
    for args in (("init", "-q", "."), ("add", "."), ("commit", "-q", "-m", "c")):
        git(*args, cwd=origin)
    git("-c", "core.autocrlf=true", "clone", "-q", str(origin), "clone", cwd=tmp_path)
    return tmp_path / "clone" / "server"


def plan_tag(server: Path) -> str:
    return build_plan(server, server / "Dockerfile", "linux/amd64", project_root=server.parent).tag


def test_a_windows_checkout_gets_the_same_content_tag(tmp_path: Path) -> None:
    attributes = (PROJECT_ROOT / ".gitattributes").read_text()
    server = windows_clone(tmp_path / "pinned", attributes)
    assert b"\r\n" not in (server / "Dockerfile").read_bytes()
    assert (server / "artifact/forest.npz").read_bytes() == (
        SERVER_DIR / "artifact/forest.npz"
    ).read_bytes()
    assert plan_tag(server) == plan_tag(SERVER_DIR)
    # Without the attributes the same clone gets CRLF and a tag of its own.
    unpinned = windows_clone(tmp_path / "unpinned", None)
    assert b"\r\n" in (unpinned / "Dockerfile").read_bytes()
    assert plan_tag(unpinned) != plan_tag(SERVER_DIR)


# What the API image runs on; none of the Pulumi program's, the AWS tools' or the test tools'
# packages belongs in the environment `make serve` builds.
SERVE_NEEDS = {"fastapi", "uvicorn", "uvloop", "httptools", "numpy", "pydantic-settings"}
SERVE_MUST_NOT_HOLD = {
    "pulumi",
    "pulumi-aws",
    "pulumi-docker",
    "pulumi-policy",
    "boto3",
    "botocore",
    "docker",
    "pyyaml",
    "moto",
    "scipy",
    "scikit-learn",
    "joblib",
    "kubernetes-validate",
    "schemathesis",
    "hypothesis",
    "pytest",
    "mypy",
    "ruff",
}
SERVE_ENV_LIMIT_BYTES = 150 * 1024 * 1024


def server_group_packages() -> set[str]:
    """Package names `uv export --only-group server` resolves from the lock."""
    exported = subprocess.run(
        [
            *(str(PROJECT_ROOT / ".venv/bin/uv"), "export", "--frozen", "--only-group", "server"),
            *("--no-emit-project", "--no-header", "--no-hashes", "--format", "requirements-txt"),
        ],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(re.findall(r"^([A-Za-z0-9._-]+)==", exported, re.MULTILINE))


def program_dependencies() -> set[str]:
    """Names in pyproject's `dependencies`: the Pulumi program's own packages."""
    document = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    specs: list[str] = document["project"]["dependencies"]
    return {re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].lower() for spec in specs}


def test_the_server_group_resolves_without_the_program_or_the_tools() -> None:
    packages = server_group_packages()
    assert packages >= SERVE_NEEDS
    assert packages & SERVE_MUST_NOT_HOLD == set()
    # The project's own `dependencies` are the Pulumi program's: none in the server group.
    program = program_dependencies()
    assert program >= {"pulumi", "pulumi-aws", "boto3"}
    assert packages & program == set()


def make_dry_run(*targets: str) -> list[str]:
    """The uv commands `make -n -B TARGETS` would run."""
    listed = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", *targets],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.findall(r"[/ ]uv (sync .*)$", listed, re.MULTILINE)


def test_make_serve_syncs_the_server_group_and_make_test_every_group() -> None:
    # --inexact: after `make test` the serve step leaves the full environment as it is.
    assert make_dry_run("serve") == ["sync --frozen --only-group server --inexact --quiet"]
    assert make_dry_run("env") == ["sync --frozen --all-groups --quiet"]


def tree_bytes(root: Path) -> int:
    """Apparent size of the files under `root`, each inode once (uv hard-links from its cache)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            status = (Path(folder) / name).lstat()
            inode = (status.st_dev, status.st_ino)
            if inode not in seen and not stat.S_ISLNK(status.st_mode):
                seen.add(inode)
                total += status.st_size
    return total


def make_stamp(venv: Path, stamp: str, *flags: str) -> None:
    """`make [FLAGS] <venv>/<stamp>`: the Makefile's environment step, into `venv`."""
    # uv from the test environment, so make never installs one.
    path = f"{PROJECT_ROOT / '.venv/bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        ["make", "--no-print-directory", *flags, f"VENV={venv}", f"{venv}/{stamp}"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PATH": path},
        check=True,
        capture_output=True,
        timeout=600,
    )


def installed(venv: Path) -> set[str]:
    """Distribution names in `venv`, normalised as the lock spells them."""
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return {
        re.sub(r"-[^-]+\.dist-info$", "", path.name).replace("_", "-").lower()
        for path in (site / "site-packages").glob("*.dist-info")
    }


@pytest.fixture
def serve_env(tmp_path: Path) -> Path:
    """The environment `make serve` builds on a fresh clone, built by its own make target."""
    venv = tmp_path / "venv"
    make_stamp(venv, ".synced-server")
    return venv


@pytest.fixture
def served(serve_env: Path) -> Iterator[str]:
    """`python -m retail_api` from the serve environment on a free loopback port; its URL."""
    port = free_port()
    server = subprocess.Popen(
        [str(serve_env / "bin/python"), "-m", "retail_api"],
        cwd=SERVER_DIR,
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WORKERS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers_ok(f"{url}/ready") or server.poll() is not None, timeout=60)
        assert server.poll() is None, "the API did not start in the serve environment"
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_serve_environment_is_lean_and_answers_the_readme_curl(
    serve_env: Path, served: str
) -> None:
    packages = installed(serve_env)
    assert packages >= SERVE_NEEDS
    assert packages & SERVE_MUST_NOT_HOLD == set()
    assert tree_bytes(serve_env) <= SERVE_ENV_LIMIT_BYTES
    readme = (PROJECT_ROOT / "README.md").read_text()
    curl = next(line for line in readme.splitlines() if line.startswith("`curl"))
    body = re.search(r"-d '(\{.*?\})'", curl)
    path = re.search(r"localhost:\d+(/\S+)", curl)
    assert body and path, curl
    request = urllib.request.Request(
        served + path.group(1),
        data=body.group(1).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        answer = json.loads(response.read())
    assert answer["prediction"] in {"Low", "Medium", "High"}


def test_the_two_set_up_commands_work_in_either_order(tmp_path: Path) -> None:
    full = SERVE_MUST_NOT_HOLD | SERVE_NEEDS
    serve_first = tmp_path / "serve-first"
    make_stamp(serve_first, ".synced-server")
    assert installed(serve_first) & SERVE_MUST_NOT_HOLD == set()
    make_stamp(serve_first, ".synced")
    assert installed(serve_first) >= full
    test_first = tmp_path / "test-first"
    make_stamp(test_first, ".synced")
    # -B: the serve step runs although the full sync has just covered it (a changed lock).
    make_stamp(test_first, ".synced-server", "-B")
    assert installed(test_first) >= full
