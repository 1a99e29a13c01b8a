"""The one reader of `Pulumi.<stack>.yaml`: the namespaces the program reads, as written.

Used by the lifecycle CLI, `python -m infra check`, the tests and anything else that needs a
stack's settings without running Pulumi. The values stay raw (the loader parses them), except
that a structured key written as JSON text — what `pulumi config set` without `--path` stores —
is decoded, so every caller sees the same list whichever way the file was written. A plain
string under a structured key stays a string: the loader names it as a string where a list
belongs.

Two things only the Pulumi service can read are not read here, and said so: a `secure:` value
(ciphertext; taken as present) and the ESC environments under `environment:` (the values they
set are unknown offline).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config.keys import keys_of
from infra.config.parsers import PROJECT
from infra.config.settings import RetailRegistryArgs
from infra.paths import PROJECT_ROOT

_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")
AWS = "aws"
# What a `secure:` aws: value reads as offline: present, a string, never a real secret.
SECURE_STAND_IN = "secure-value-not-read-offline"


class StackFileError(ValueError):
    """A stack file that cannot be read; the message names the file (or stack) and the problem,
    with line and column for a YAML syntax error."""


@dataclass(frozen=True)
class StackFile:
    """One stack file's config, split the way the program reads it."""

    path: Path
    project: dict[str, Any]
    """`retail-registry:` values as written (keys without the namespace); no defaults."""
    aws: dict[str, Any]
    """`aws:` values as written; a `secure:` one reads as SECURE_STAND_IN."""
    secure_keys: tuple[str, ...]
    """Full keys (`ns:key`) whose value is `secure:` ciphertext: present, not checked offline."""
    environments: tuple[str, ...]
    """ESC environments the file imports (`environment:`): their values are not read offline."""


def stack_path(stack: str, project_dir: Path | None = None) -> Path:
    """`<project_dir>/Pulumi.<stack>.yaml`; StackFileError for a name Pulumi would refuse."""
    if not _STACK_NAME.fullmatch(stack):
        raise StackFileError(f"stack {stack!r}: a stack name is letters, digits, '_', '.', '-'")
    return (project_dir or PROJECT_ROOT) / f"Pulumi.{stack}.yaml"


def read_stack_file(stack: str, project_dir: Path | None = None) -> StackFile:
    path = stack_path(stack, project_dir)
    document = _document(path)
    config = _config_mapping(path, document)
    structured = {key.name for key in keys_of(RetailRegistryArgs) if key.type == "array"}
    project: dict[str, Any] = {}
    aws: dict[str, Any] = {}
    secure: list[str] = []
    for raw_key, value in config.items():
        namespace, _, key = str(raw_key).partition(":")
        if namespace not in (PROJECT, AWS) or not key:
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            secure.append(f"{namespace}:{key}")
            if namespace == AWS:
                aws[key] = SECURE_STAND_IN
            continue
        if namespace == AWS:
            aws[key] = value
        else:
            project[key] = _decoded(path, key, value) if key in structured else value
    return StackFile(path, project, aws, tuple(secure), _environments(path, document))


def read_stack_values(stack: str, project_dir: Path | None = None) -> dict[str, Any]:
    """Raw `retail-registry:` values of `Pulumi.<stack>.yaml`, keys without the namespace, with
    every table default applied (so `["lifecycleRules"]` always exists).

    A key written with a null value (`lifecycleRules:` or `~`) keeps its default, as the loader
    reads None; so does a `secure:` one. Unknown keys are kept: the loader names them."""
    values: dict[str, Any] = {key.name: key.default for key in keys_of(RetailRegistryArgs)}
    for key, value in read_stack_file(stack, project_dir).project.items():
        if value is not None or key not in values:
            values[key] = value
    return values


def _document(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StackFileError(f"{path}: cannot read stack file: {exc.strerror or exc}") from None
    except RecursionError:
        raise StackFileError(f"{path}: stack file is nested too deeply to read") from None
    except UnicodeDecodeError as exc:
        raise StackFileError(f"{path}: stack file is not UTF-8 (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise StackFileError(_yaml_message(path, exc)) from None


def _yaml_message(path: Path, exc: yaml.YAMLError) -> str:
    """`<file>:<line>:<column>: not valid YAML: <problem> (<context>)`, as editors jump to."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else str(problem)
    return f"{where}: not valid YAML: {detail}; fix the file's indentation or quoting there"


def _config_mapping(path: Path, document: object) -> dict[Any, Any]:
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path}: stack file must be a YAML mapping with a config: key")
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: config: must be a mapping of keys to values")
    return config


def _environments(path: Path, document: object) -> tuple[str, ...]:
    # Pulumi reads `environment:` as a list of ESC environments, or `imports:` under it.
    found = document.get("environment") if isinstance(document, dict) else None
    if isinstance(found, dict):
        found = found.get("imports")
    if found is None:
        return ()
    if not isinstance(found, list):
        raise StackFileError(f"{path}: environment: must be a list of ESC environment names")
    return tuple(str(name) for name in found)


def _decoded(path: Path, key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
    except RecursionError:
        raise StackFileError(f"{path}: {PROJECT}:{key}: nested too deeply to read") from None
