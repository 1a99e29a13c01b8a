"""infra/config/keys.py: one table row reaches the settings, the Pulumi reader and the README check.

The issue's check: add a key to the one table (and to a copy of Pulumi.yaml) and every consumer
picks it up with no other edit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pytest
import yaml

from infra.config import RetailRegistryArgs, keys_of, pulumi_schema, readme_table_problems
from infra.config import loader as loader_module
from infra.config import settings as settings_module
from infra.config.keys import config_key
from infra.config.parsers import integer_between
from infra.paths import PROJECT_ROOT
from tests.infra.pulumi_harness import program_run


@dataclass(frozen=True)
class WithRetention(RetailRegistryArgs):
    """The table plus one row, declared the way a new key is declared."""

    retention_days: int = config_key(
        "retentionDays", "integer", 7, integer_between(1, 365), "Days to keep something."
    )


@pytest.fixture
def new_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The table swapped for the extended one; returns a Pulumi.yaml copy with the new entry."""
    monkeypatch.setattr(settings_module, "RetailRegistryArgs", WithRetention)
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    project["config"]["retentionDays"] = {
        "type": "integer",
        "default": 7,
        "description": "Days to keep something.",
    }
    copy = tmp_path / "Pulumi.yaml"
    copy.write_text(yaml.safe_dump(project, sort_keys=False))
    return copy


def test_the_settings_object_reads_the_new_key(new_key: Path) -> None:
    assert loader_module.load_args({}, stack="s").retention_days == 7  # type: ignore[attr-defined]
    args = loader_module.load_args({"retentionDays": "30"}, stack="s")
    assert args.retention_days == 30  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"retail-registry:retentionDays = 0: .*1 to 365"):
        loader_module.load_args({"retentionDays": 0}, stack="s")


def test_the_pulumi_reader_reads_the_new_key(new_key: Path) -> None:
    config = {"aws:region": "ap-southeast-1", "retail-registry:retentionDays": "90"}
    captured: list[object] = []
    original = loader_module.load_args

    def spy(*args: object, **kwargs: object) -> object:
        loaded = original(*args, **kwargs)  # type: ignore[arg-type]
        captured.append(loaded)
        return loaded

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader_module, "load_args", spy)
        with program_run("extended", config):
            pass
    assert [getattr(args, "retention_days", None) for args in captured] == [90]
    bad = {"aws:region": "ap-southeast-1", "retail-registry:retentionDays": "many"}
    with (
        pytest.raises(pulumi.RunError, match="retail-registry:retentionDays"),
        program_run("extended", bad),
    ):
        pass


def test_the_project_file_check_wants_the_new_entry(new_key: Path) -> None:
    copy = yaml.safe_load(new_key.read_text())
    assert copy["config"] == pulumi_schema(WithRetention)
    original = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    assert original["config"] != pulumi_schema(WithRetention), "the old file lacks the entry"


def test_the_readme_check_wants_the_new_row(new_key: Path) -> None:
    rows = {key.name: [key.readme_type(), "x", "described"] for key in keys_of(RetailRegistryArgs)}
    rows = {name: _row_as_written(name, cells) for name, cells in rows.items()}
    problems = readme_table_problems(WithRetention, rows)
    assert problems and "retentionDays" in problems[0]
    rows["retentionDays"] = ["integer", "`7`", "days to keep something"]
    assert readme_table_problems(WithRetention, rows) == []
    rows["retentionDays"] = ["integer", "`8`", "days to keep something"]
    assert readme_table_problems(WithRetention, rows) == [
        "retentionDays: default '`8`' should be `7`"
    ]


@pytest.mark.parametrize(
    ("type_", "items", "message"),
    [
        ("array", None, "is not a Pulumi type"),
        ("string", "string", "is not a Pulumi type"),
        ("object", None, "is not a Pulumi type"),
        ("array", "integer", "items 'integer' is not one of"),
    ],
)
def test_a_row_pulumi_could_not_declare_is_refused(
    type_: str, items: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        config_key("badKey", type_, "", lambda _key, value: value, "d", items=items)


def test_key_names_are_camel_case_and_unique() -> None:
    names = [key.name for key in keys_of(RetailRegistryArgs)]
    assert len(set(names)) == len(names) == 25
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", name) for name in names), names


def _row_as_written(name: str, cells: list[str]) -> list[str]:
    key = {k.name: k for k in keys_of(RetailRegistryArgs)}[name]
    default = key.readme_default()
    return [cells[0], f"`{default}`" if default is not None else "prose", cells[2]]


def test_defaults_render_as_json_in_the_readme() -> None:
    expected = {"mutableTags": "[]", "scanOnPush": "true", "kmsKeyArn": '""'}
    defaults = {k.name: k.readme_default() for k in keys_of(RetailRegistryArgs)}
    assert {name: defaults[name] for name in expected} == expected
    assert defaults["lifecycleRules"] is None
    assert json.loads(defaults["protect"] or "null") is True
