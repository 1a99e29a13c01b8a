"""The project's declared interface agrees with the code: config schema, defaults, lock exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from infra.config import RetailRegistryArgs, keys_of, pulumi_schema
from infra.paths import PROJECT_ROOT


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
