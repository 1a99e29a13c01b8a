"""Parsers for single stack-config values: each returns the typed value or raises ConfigError.

Pure Python. Each parser takes the config key (for the message) and the raw value — a string
as the Pulumi engine hands it over, or a YAML value as it stands in `Pulumi.<stack>.yaml`.
The key table (`infra.config.settings`) names one parser per key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
PROJECT = "retail-registry"
TAG_MUTABILITY_MODES = (
    "IMMUTABLE",
    "IMMUTABLE_WITH_EXCLUSION",
    "MUTABLE",
    "MUTABLE_WITH_EXCLUSION",
)
PLATFORMS = ("linux/amd64", "linux/arm64", "linux/arm64/v8")

_REPOSITORY_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_MUTABLE_TAG_FILTER = re.compile(r"[0-9A-Za-z._*-]{1,128}")
_IAM_PRINCIPAL_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:iam::\d{12}:(?:root|(?:role|user)/[\w+=,.@/-]{1,512})"
)
_KMS_KEY_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:kms:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:key/[\w-]+")
_ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")
_DOCKER_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


# One problem is one line a terminal shows whole; a scalar value longer than this is cut.
MAX_LINE = 200
MAX_SHOWN_VALUE = 100


class ConfigError(ValueError):
    """A stack config value that breaks a rule, as one line: the key and the path inside its
    value (`lifecycleRules[2].selection.countNumber`), the value when it is a short scalar (a
    list or mapping is named by its path, never printed), and the rule, which says what to
    write instead. `combine` makes one error of several: one line each, in order."""

    def __init__(
        self,
        key: str,
        value: object,
        rule: str,
        *,
        path: str = "",
        more: Sequence[ConfigError] = (),
    ) -> None:
        self.name = key
        self.key = f"{PROJECT}:{key}"
        self.value = value
        self.rule = _without_echo(rule, value)
        self.path = path
        own = problem_line(self.key + path, value, self.rule)
        self.lines: tuple[str, ...] = (own, *(line for error in more for line in error.lines))
        super().__init__("\n".join(self.lines))

    @classmethod
    def combine(cls, errors: Sequence[ConfigError]) -> ConfigError:
        """One error holding every line of `errors` (not empty); key and value are the first's."""
        first, *rest = errors
        if not rest:
            return first
        return cls(first.name, first.value, first.rule, path=first.path, more=rest)


def problem_line(where: str, value: object, rule: str) -> str:
    """`where = "value": rule`, or `where: rule` for a structured value; at most MAX_LINE."""
    shown = shown_value(value)
    line = f"{where} = {shown}: {rule}" if shown is not None else f"{where}: {rule}"
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def shown_value(value: object) -> str | None:
    """A scalar as YAML/JSON would write it, cut to MAX_SHOWN_VALUE; None for lists and maps."""
    if isinstance(value, list | tuple | dict) or value is None:
        return None
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 2] + '…"'


def _without_echo(rule: str, value: object) -> str:
    # Shared parsers (the scan gate's) start their rule with the value itself, which the line
    # shows already.
    echo = f"{value!r} "
    return rule.removeprefix(echo) if isinstance(value, str | int) else rule


def decode(value: Any) -> Any:
    """Structured values arrive as JSON text from the engine and as YAML values from files."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, "must be a non-empty string")
    return value


def boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(key, value, "must be a boolean (true or false)")


def string_list(key: str, value: Any) -> list[str]:
    decoded = decode(value)
    if not isinstance(decoded, list):
        raise ConfigError(key, value, "must be a list of non-empty strings")
    _raise_all(
        ConfigError(key, item, "must be a non-empty string", path=f"[{index}]")
        for index, item in enumerate(decoded)
        if not isinstance(item, str) or not item
    )
    _raise_all(
        ConfigError(key, item, "repeats an earlier entry; list each one once", path=f"[{index}]")
        for index, item in enumerate(decoded)
        if item in decoded[:index]
    )
    return decoded


def matching(pattern: re.Pattern[str], rule: str) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        text = string(key, value)
        if not pattern.fullmatch(text):
            raise ConfigError(key, value, rule)
        return text

    return parse


def optional_matching(pattern: re.Pattern[str], rule: str) -> Callable[[str, Any], str | None]:
    """Like _matching, but "" means unset: Pulumi makes a typed key without a default required,
    so optional keys declare `default: ""`."""
    parse_set = matching(pattern, rule)

    def parse(key: str, value: Any) -> str | None:
        return None if value == "" else parse_set(key, value)

    return parse


def each_matching(pattern: re.Pattern[str], rule: str) -> Callable[[str, Any], tuple[str, ...]]:
    def parse(key: str, value: Any) -> tuple[str, ...]:
        items = string_list(key, value)
        _raise_all(
            ConfigError(key, item, rule, path=f"[{index}]")
            for index, item in enumerate(items)
            if not pattern.fullmatch(item)
        )
        return tuple(items)

    return parse


def principals(key: str, value: Any) -> tuple[str, ...]:
    items = string_list(key, value)
    _raise_all(
        ConfigError(
            key,
            item,
            "wildcards are not allowed; name each principal's ARN"
            if "*" in item
            else _PRINCIPAL_RULE,
            path=f"[{index}]",
        )
        for index, item in enumerate(items)
        if "*" in item or not _IAM_PRINCIPAL_ARN.fullmatch(item)
    )
    return tuple(items)


def _raise_all(errors: Iterable[ConfigError]) -> None:
    found = list(errors)
    if found:
        raise ConfigError.combine(found)


def one_of(choices: Sequence[str]) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        if value not in choices:
            raise ConfigError(key, value, f"must be one of {', '.join(choices)}")
        return str(value)

    return parse


def repository_name(key: str, value: Any) -> str:
    name = string(key, value)
    if not 2 <= len(name) <= 256:
        raise ConfigError(key, value, "must be 2 to 256 characters long")
    if not _REPOSITORY_NAME.fullmatch(name):
        raise ConfigError(
            key,
            value,
            "must be lowercase letters and digits in `/`-separated components, "
            "each starting and ending with a letter or digit ('.', '_', '-' allowed inside)",
        )
    return name


_PRINCIPAL_RULE = (
    "must be an IAM ARN: arn:aws:iam::<12-digit account>:root, :role/<name> or :user/<name>"
)


def integer_between(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(key: str, value: Any) -> int:
        decoded = decode(value)
        # bool is an int subclass: `true` must not read as 1.
        if isinstance(decoded, bool) or not isinstance(decoded, int):
            raise ConfigError(key, value, f"must be a whole number from {low} to {high}")
        if not low <= decoded <= high:
            raise ConfigError(key, value, f"must be a whole number from {low} to {high}")
        return decoded

    return parse


tag_mutability = one_of(TAG_MUTABILITY_MODES)
mutable_tags = each_matching(
    _MUTABLE_TAG_FILTER, "must be 1-128 characters of letters, digits, '.', '_', '-' and '*'"
)
kms_key_arn = optional_matching(
    _KMS_KEY_ARN, "must be a KMS key ARN: arn:aws:kms:<region>:<account>:key/<id>"
)
organization_ids = each_matching(
    _ORGANIZATION_ID,
    "must be an AWS Organization ID: o- followed by 10-32 lowercase letters or digits",
)
image_platform = one_of(PLATFORMS)
image_tag = optional_matching(
    _DOCKER_TAG,
    "must be a Docker tag: 1-128 letters, digits, '_', '.', '-', not starting with '.' or '-'",
)


def raising_value_error(parse: Callable[[Any, str], T]) -> Callable[[str, Any], T]:
    """A parser written as `parse(value, key)` raising ValueError, as one raising ConfigError.

    The scan gate's parsers (infra.scan_gate.config) take this form so its CLI can share them.
    """

    def adapted(key: str, value: Any) -> T:
        try:
            return parse(value, key)
        except ValueError as error:
            # `key[1].expires: rule` names a place inside the value: it becomes the path.
            found = re.match(rf"{re.escape(key)}((?:\[\d+\]|\.\w+)*): (.*)", str(error), re.S)
            if found is None:
                raise ConfigError(key, value, str(error)) from None
            path, rule = found.groups()
            inner = _at(decode(value), path) if path else value
            raise ConfigError(key, inner, rule, path=path) from None

    return adapted


def _at(value: Any, path: str) -> Any:
    """The part of `value` at `path` (`[1].expires`), or None where the path leads nowhere."""
    for index, name in re.findall(r"\[(\d+)\]|\.(\w+)", path):
        if index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        elif name and isinstance(value, dict):
            value = value.get(name)
        else:
            return None
    return value
