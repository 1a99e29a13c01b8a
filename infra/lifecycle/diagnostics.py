"""Collecting validation findings under a label, and showing values in messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Report:
    """Collects findings for one rule (or the document) under a fixed label."""

    label: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, where: str, message: str) -> None:
        self.errors.append(
            f"{self.label}: {where}: {message}" if where else f"{self.label}: {message}"
        )

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(f"{self.label}: {where}: {message}")


def show(value: object) -> str:
    """A value as it would appear in the policy JSON, for messages."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except RecursionError:
        return f"<{type_name(value)} nested too deeply to show>"
    except (TypeError, ValueError):
        return repr(value)


def type_name(value: object) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "number" if isinstance(value, int | float) else type(value).__name__
