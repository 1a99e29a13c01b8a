"""The one reader of `Pulumi.<stack>.yaml`: the project namespace's raw values, defaults filled in.

Used by the lifecycle CLI, the tests and anything else that needs a stack's settings without
running Pulumi. The values stay raw (the loader parses them), except that a structured key
written as JSON text — what `pulumi config set` without `--path` stores — is decoded, so every
caller sees the same list whichever way the file was written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from infra.config.keys import keys_of
from infra.config.parsers import PROJECT
from infra.config.settings import RetailRegistryArgs
from infra.paths import PROJECT_ROOT

_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class StackFileError(ValueError):
    """A stack file that cannot be read; the message names the file (or stack) and the problem."""


def read_stack_values(stack: str, project_dir: Path | None = None) -> dict[str, Any]:
    """Raw `retail-registry:` values of `Pulumi.<stack>.yaml`, keys without the namespace, with
    every table default applied (so `["lifecycleRules"]` always exists).

    A key written with a null value (`lifecycleRules:` or `~`) keeps its default, as the loader
    reads None. Unknown keys are kept: the loader rejects them with the key's name."""
    if not _STACK_NAME.fullmatch(stack):
        raise StackFileError(f"stack {stack!r}: a stack name is letters, digits, '_', '.', '-'")
    path = (project_dir or PROJECT_ROOT) / f"Pulumi.{stack}.yaml"
    config = _config_mapping(path)
    prefix = f"{PROJECT}:"
    values: dict[str, Any] = {key.name: key.default for key in keys_of(RetailRegistryArgs)}
    structured = {key.name for key in keys_of(RetailRegistryArgs) if key.type == "array"}
    for raw_key, value in config.items():
        if not isinstance(raw_key, str) or not raw_key.startswith(prefix):
            continue
        key = raw_key.removeprefix(prefix)
        if value is None and key in values:
            continue
        values[key] = _decoded(path, key, value) if key in structured else value
    return values


def _config_mapping(path: Path) -> dict[Any, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StackFileError(f"{path}: cannot read stack file: {exc.strerror or exc}") from None
    except RecursionError:
        raise StackFileError(f"{path}: stack file is nested too deeply to read") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StackFileError(f"{path}: stack file is not valid YAML: {first_line}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path}: stack file must be a YAML mapping")
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: config: must be a mapping of keys to values")
    return config


def _decoded(path: Path, key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise StackFileError(
            f"{path}: {PROJECT}:{key}: a string value must be JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise StackFileError(f"{path}: {PROJECT}:{key}: nested too deeply to read") from None
