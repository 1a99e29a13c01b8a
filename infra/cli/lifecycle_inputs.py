"""The `simulate` and `validate` inputs, read from files: each reader returns typed values or
raises InputError with the whole one-line diagnosis (the file and what is wrong with it)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.config import StackFileError, read_stack_values
from infra.lifecycle.images import Image, ImagesError, parse_describe_images, parse_timestamp
from infra.lifecycle.in_use import InUseError, Reference, parse_in_use
from infra.lifecycle.manifests import ManifestsError, Relations, parse_batch_get_image
from infra.paths import PROJECT_ROOT

_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class InputError(Exception):
    """Input that cannot be read at all; the message is the whole one-line diagnosis."""


def load_policy(path: Path | None, stack: str | None, root: Path | None) -> Any:
    if stack is not None:
        if not _STACK_NAME.fullmatch(stack):
            raise InputError(f"--stack: {stack!r} is not a stack name (letters, digits, _ . -)")
        try:
            values = read_stack_values(stack, stack_root(stack, root))
        except StackFileError as exc:
            raise InputError(str(exc)) from None
        return {"rules": values["lifecycleRules"]}
    assert path is not None
    return read_json(path, "policy")


def stack_root(stack: str, root: Path | None = None) -> Path:
    """`root` if given; else the current directory if it holds Pulumi.<stack>.yaml, else the
    project root."""
    if root is not None:
        return root
    if _STACK_NAME.fullmatch(stack) and Path.cwd().joinpath(f"Pulumi.{stack}.yaml").is_file():
        return Path.cwd()
    return PROJECT_ROOT


def load_images(path: Path) -> tuple[Image, ...]:
    try:
        return parse_describe_images(read_json(path, "images"))
    except ImagesError as exc:
        raise InputError(f"{path}: {exc}") from exc


def load_manifests(folder: Path | None) -> Relations | None:
    if folder is None:
        return None
    if not folder.is_dir():
        raise InputError(f"--manifests: {folder} is not a folder of batch-get-image JSON files")
    files = sorted(folder.glob("*.json"))
    try:
        return parse_batch_get_image((str(path), read_json(path, "manifests")) for path in files)
    except ManifestsError as exc:
        raise InputError(str(exc)) from exc


def load_in_use(path: Path | None) -> tuple[Reference, ...]:
    if path is None:
        return ()
    try:
        return parse_in_use(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read in-use file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: in-use file is not UTF-8 text") from exc
    except InUseError as exc:
        raise InputError(f"{path}: {exc}") from exc


def parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_timestamp(text, "--now")
    except ImagesError as exc:
        raise InputError(str(exc)) from exc


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} file is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: {what} file is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise InputError(f"{path}: {what} file is nested too deeply to read") from exc
