"""A config key's declaration: the row of the one key table, and what is derived from it.

`config_key(...)` declares a field of the settings dataclass and carries the key's name,
Pulumi type, raw default, parser and description as field metadata. Everything that lists keys
(the loader, the Pulumi reader, the `Pulumi.yaml` schema, the README table check) walks
`keys_of(settings_type)`, so a new key is one new field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from typing import Any, TypeVar

T = TypeVar("T")
_METADATA = "config_key"
PULUMI_TYPES = ("string", "integer", "boolean", "array")
ITEM_TYPES = ("string", "object")
README_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean"}


@dataclass(frozen=True)
class Key:
    """One row of the table: what `Pulumi.yaml` declares and how the program reads it."""

    name: str
    """The key in the `retail-registry:` namespace (camelCase, as the issues name it)."""
    field: str
    """The settings attribute it fills."""
    type: str
    """Pulumi's config type: one of PULUMI_TYPES."""
    items: str | None
    """Item type of an array (ITEM_TYPES); `object` needs Pulumi CLI 3.187 or later."""
    default: Any
    """The raw default, exactly as `Pulumi.yaml` declares it ("" = unset for strings)."""
    parse: Callable[[str, Any], Any]
    """Raw value (engine string or YAML value) -> typed value, or ConfigError."""
    description: str
    """The `Pulumi.yaml` description."""

    def declaration(self) -> dict[str, Any]:
        """This key's entry under `config:` in `Pulumi.yaml`."""
        declared: dict[str, Any] = {"type": self.type}
        if self.items is not None:
            declared["items"] = {"type": self.items}
        declared["default"] = self.default
        declared["description"] = self.description
        return declared

    def readme_type(self) -> str:
        return f"{self.items}[]" if self.items else README_TYPES[self.type]

    def readme_default(self) -> str | None:
        """The README's default cell without backticks; None where the table uses prose."""
        if self.items == "object":
            return None
        return (
            self.default
            if isinstance(self.default, str) and self.default
            else json.dumps(self.default)
        )


def config_key(
    name: str,
    type_: str,
    default: Any,
    parse: Callable[[str, Any], T],
    description: str,
    *,
    items: str | None = None,
) -> T:
    """A settings field whose default is `default` parsed, so the two can never disagree."""
    if type_ not in PULUMI_TYPES or (items is None) == (type_ == "array"):
        raise ValueError(f"{name}: type {type_!r} with items {items!r} is not a Pulumi type")
    if items is not None and items not in ITEM_TYPES:
        raise ValueError(f"{name}: items {items!r} is not one of {ITEM_TYPES}")
    # The attribute name is not known here; keys_of fills it in from the dataclass field.
    row = Key(name, "", type_, items, default, parse, description)
    value: T = field(default=parse(name, default), metadata={_METADATA: row})
    return value


def keys_of(settings_type: type) -> tuple[Key, ...]:
    """The table, in declaration order, with each row's field name filled in."""
    found: list[Key] = []
    for each in fields(settings_type):
        row = _row(each)
        if row is not None:
            found.append(replace(row, field=each.name))
    return tuple(found)


def pulumi_schema(settings_type: type) -> dict[str, dict[str, Any]]:
    """The `config:` block `Pulumi.yaml` must hold: one typed, described entry per key."""
    return {key.name: key.declaration() for key in keys_of(settings_type)}


def readme_table_problems(settings_type: type, rows: Mapping[str, list[str]]) -> list[str]:
    """What a README config table (key -> [type, default, description] cells) gets wrong."""
    keys = keys_of(settings_type)
    problems = []
    if list(rows) != [key.name for key in keys]:
        problems.append(f"keys {list(rows)} should be {[key.name for key in keys]}, in order")
    for key in keys:
        cells = rows.get(key.name)
        if cells is None:
            continue
        if len(cells) < 3 or not cells[2]:
            problems.append(f"{key.name}: needs type, default and a description")
            continue
        if cells[0] != key.readme_type():
            problems.append(f"{key.name}: type {cells[0]!r} should be {key.readme_type()!r}")
        expected = key.readme_default()
        if expected is not None and cells[1].strip("`") != expected:
            problems.append(f"{key.name}: default {cells[1]!r} should be `{expected}`")
    return problems


def _row(each: Field[Any]) -> Key | None:
    row = each.metadata.get(_METADATA)
    return row if isinstance(row, Key) else None
