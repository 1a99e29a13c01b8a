"""A stack file reviewed offline: every config problem at once, one line each.

`review_stack` reads `Pulumi.<stack>.yaml` with the one stack-file reader, parses its `aws:`
namespace with `infra.aws_config.parse_aws_config` and its project namespace with `load_args`,
as `pulumi up` does (`pulumi_reader.read_args`), but collects every problem instead of stopping
at the first. It also gives the config as the engine would hand it to the program, so the
program itself can run under mocks on exactly these values.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.aws_config import AwsConfig, AwsConfigError, parse_aws_config
from infra.config.loader import load_args
from infra.config.parsers import MAX_LINE, PROJECT, ConfigError
from infra.config.settings import RetailRegistryArgs
from infra.config.stack_file import AWS, StackFile, read_stack_file

_KNOWN_KEYS = re.compile(r"; known(?: keys)?: (.*)$")


@dataclass(frozen=True)
class StackReview:
    """What the config says, before any resource: errors block a deploy, notes do not."""

    stack: str
    path: Path
    args: RetailRegistryArgs | None
    """The loaded settings; None when there is any error."""
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    engine_config: dict[str, str] = field(default_factory=dict)
    """`ns:key` -> the string the Pulumi engine would pass the program for it."""


def review_stack(stack: str, project_dir: Path | None = None) -> StackReview:
    """Review `Pulumi.<stack>.yaml`; StackFileError when the file cannot be read at all."""
    found = read_stack_file(stack, project_dir)
    aws, aws_errors = _aws_config(found.aws)
    try:
        args: RetailRegistryArgs | None = load_args(found.project, stack=stack, aws=aws)
        project_errors: tuple[str, ...] = ()
    except ConfigError as error:
        args, project_errors = None, error.lines
    errors = (*aws_errors, *project_errors)
    return StackReview(
        stack,
        found.path,
        None if errors else args,
        errors,
        _notes(found),
        engine_config(found),
    )


def engine_config(found: StackFile) -> dict[str, str]:
    """The values as the engine passes them: strings as written, everything else as JSON."""
    config: dict[str, str] = {}
    for namespace, values in ((AWS, found.aws), (PROJECT, found.project)):
        for key, value in values.items():
            if value is not None:
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                config[f"{namespace}:{key}"] = text
    return config


def _aws_config(values: Mapping[str, Any]) -> tuple[AwsConfig, tuple[str, ...]]:
    """The parsed `aws:` namespace and one line per refused key (parse_aws_config stops at the
    first, so each refused key is set aside and the rest parsed again)."""
    remaining = dict(values)
    errors: list[str] = []
    while True:
        try:
            return parse_aws_config(remaining), tuple(errors)
        except AwsConfigError as error:
            errors.append(_aws_line(error, list(values)))
            top = re.split(r"[.\[]", error.key, maxsplit=1)[0]
            if top not in remaining:
                # A rule across keys (accessKey with secretKey): nothing left to set aside.
                return AwsConfig(), tuple(errors)
            del remaining[top]


def _aws_line(error: AwsConfigError, written: list[str]) -> str:
    line = str(error)
    known = _KNOWN_KEYS.search(line)
    if known is not None:
        # The whole list of known keys does not fit a line; the closest one does.
        close = difflib.get_close_matches(error.key, known.group(1).split(", "), n=1)
        hint = f"; did you mean aws:{close[0]}?" if close else "; remove it"
        line = line[: known.start()] + hint
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def _notes(found: StackFile) -> tuple[str, ...]:
    notes = [
        f"{key}: a secure: value, taken as present; its plaintext is not checked offline"
        for key in found.secure_keys
    ]
    if found.environments:
        names = ", ".join(found.environments)
        notes.append(
            f"environment: {names}: ESC imports are not checked offline; "
            "values they set are not seen here"
        )
    return tuple(notes)
