"""The README's configuration and outputs tables tell the truth about the code."""

from __future__ import annotations

import json
import re

import yaml

from infra.settings import CONFIG_KEYS, PROJECT_ROOT, default_config

README = (PROJECT_ROOT / "README.md").read_text()
README_TYPES = {"string": "string", "boolean": "boolean", "array": "string[]"}


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## )", README, re.MULTILINE | re.DOTALL)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and cells:
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_config_table_matches_the_schema_and_the_code() -> None:
    rows = table_rows(section("Stack configuration"))
    assert list(rows) == list(CONFIG_KEYS)
    schema = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())["config"]
    defaults = default_config()
    for key, (type_, default, description) in rows.items():
        assert description, key
        if key not in schema:
            assert type_ == "object[]", key
            continue
        assert type_ == README_TYPES[schema[key]["type"]], key
        assert defaults[key] == schema[key]["default"], key
        value = defaults[key]
        expected = value if isinstance(value, str) and value else json.dumps(value)
        assert default.strip("`") == expected, key


def test_outputs_table_lists_the_exported_names_in_order() -> None:
    rows = table_rows(section("Stack outputs"))
    program = (PROJECT_ROOT / "__main__.py").read_text()
    exported = re.findall(r'pulumi\.export\("(\w+)"', program)
    assert list(rows) == exported


def test_readme_names_the_two_setup_commands() -> None:
    setup = section("Set up")
    assert "make serve" in setup
    assert "make test" in setup
