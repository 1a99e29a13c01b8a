"""The project's declared interface agrees with the code: config schema, defaults, lock exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from infra.config import RetailRegistryArgs, keys_of, pulumi_schema
from infra.image_tag import build_plan
from infra.paths import PROJECT_ROOT, SERVER_DIR


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
    assert [rule["rulePriority"] for rule in declaration["default"]] == [1, 2, 3]


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
