"""A complete, commented `Pulumi.<stack>.yaml`, written from the key table.

Every key of the table appears once, in table order, under its description; the values are
the ones given, else those of the building stack the file is modelled on (`Pulumi.dev.yaml`:
a stack that builds the image and can be destroyed), else the table's defaults. Writing the
building stack's own values gives back its committed file, so a file written for a new account
differs from it only in the values given.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import yaml

from infra.config.keys import keys_of
from infra.config.parsers import PROJECT
from infra.config.settings import RetailRegistryArgs

TEMPLATE_STACK = "dev"
WIDTH = 100
AWS_KEYS = {
    "region": "The AWS region of the repository (the provider's and the program's own calls).",
    "allowedAccountIds": "The only account this stack may touch: the provider refuses any other.",
}


def render_stack_file(stack: str, aws: Mapping[str, Any], project: Mapping[str, Any]) -> str:
    """The file's text: `aws` and `project` hold values by key (no namespace)."""
    lines = [
        f"# Stack {stack}: every {PROJECT} key, with its description (infra/config/settings.py).",
        f"# Check it offline before a preview: python -m infra check --stack {stack}",
        "config:",
    ]
    for key, description in AWS_KEYS.items():
        if key in aws:
            lines += _entry(f"aws:{key}", description, aws[key])
    for row in keys_of(RetailRegistryArgs):
        value = project.get(row.name, row.default)
        lines += _entry(f"{PROJECT}:{row.name}", row.description, value)
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    """Block style with list items indented under their key, as the committed stacks write."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _entry(key: str, description: str, value: Any) -> list[str]:
    comment = [f"  # {line}" for line in textwrap.wrap(description, WIDTH - 4)]
    if isinstance(value, list | dict) and value:
        dumped = yaml.dump(value, Dumper=_Dumper, sort_keys=False, width=1000)
        return [*comment, f"  {key}:", *(f"    {line}" for line in dumped.splitlines())]
    scalar = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=1000)
    return [*comment, f"  {key}: {scalar.removesuffix(chr(10) + '...' + chr(10)).strip()}"]
