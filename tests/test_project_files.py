"""The project's declared interface agrees with the code: config schema, defaults, lock exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from infra.settings import CONFIG_KEYS, PROJECT_ROOT, default_config

OBJECT_KEYS = {"lifecycleRules"}  # Pulumi's schema has no object type: documented, not typed
PULUMI_TYPES = {str: "string", bool: "boolean", list: "array", tuple: "array"}


def project() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())  # type: ignore[no-any-return]


def test_project_runs_python_with_uv() -> None:
    document = project()
    assert document["name"] == "retail-registry"
    assert document["runtime"]["name"] == "python"
    assert document["runtime"]["options"]["toolchain"] == "uv"
    assert (PROJECT_ROOT / "uv.lock").is_file()


def test_schema_declares_every_typed_key_with_type_and_description() -> None:
    schema = project()["config"]
    assert set(schema) == set(CONFIG_KEYS) - OBJECT_KEYS
    for key, declaration in schema.items():
        assert declaration["type"] in {"string", "boolean", "array"}, key
        assert declaration.get("description"), key
        if declaration["type"] == "array":
            assert declaration["items"] == {"type": "string"}, key


def test_schema_defaults_are_the_programs_defaults() -> None:
    schema = project()["config"]
    defaults = default_config()
    for key, declaration in schema.items():
        # A typed key without a default is a required key to Pulumi: every key needs one.
        assert "default" in declaration, f"{key} would be required by the engine"
        assert declaration["default"] == defaults[key], key
        assert declaration["type"] == PULUMI_TYPES[type(defaults[key])], key


def test_object_keys_are_documented_in_the_project_file() -> None:
    text = (PROJECT_ROOT / "Pulumi.yaml").read_text()
    for key in OBJECT_KEYS:
        assert re.search(rf"#\s*{key} \(object\[\]\)", text), key


def test_stack_files_use_only_declared_keys() -> None:
    for path in PROJECT_ROOT.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(path.read_text())["config"]
        project_keys = {k.split(":", 1)[1] for k in config if k.startswith("retail-registry:")}
        assert project_keys <= set(CONFIG_KEYS), path.name


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
