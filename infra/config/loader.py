"""`load_args`: raw values of the project namespace -> the validated settings, in one pass.

Every value is parsed by its row of the key table (`settings.RetailRegistryArgs`), then the
rules across keys (`rules`) run on the values that parsed; every problem is one line of the
ConfigError raised at the end. Pure Python: the Pulumi reader, the stack-file tools and the
tests all load through here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from infra.aws_config import AwsConfig
from infra.config import parsers as p
from infra.config import settings
from infra.config.keys import Key, keys_of
from infra.config.parsers import ConfigError
from infra.config.rules import RULES_ACROSS_KEYS


def load_args(
    values: Mapping[str, Any], *, stack: str, aws: AwsConfig | None = None
) -> settings.RetailRegistryArgs:
    """Validate raw values of the project namespace (keys without the prefix) in one pass;
    `aws` is the stack's parsed `aws:` config. Every problem is found before anything raises:
    the ConfigError holds one line per problem."""
    keys = {key.name: key for key in keys_of(settings.RetailRegistryArgs)}
    errors: list[ConfigError] = []
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        key = keys.get(name)
        if key is None:
            errors.append(ConfigError(name, value, _unknown_key_rule(name, keys)))
        elif value is not None:
            try:
                parsed[key.field] = _parse(key, value)
            except ConfigError as error:
                errors.append(error)
    args = settings.RetailRegistryArgs(stack=stack, aws=aws or AwsConfig(), **parsed)
    failed = {error.name for error in errors}
    for check, reads in RULES_ACROSS_KEYS:
        # A rule across keys only speaks about values that parsed; the others have their line.
        if failed.isdisjoint(reads):
            try:
                check(args)
            except ConfigError as error:
                errors.append(error)
    if errors:
        raise ConfigError.combine(errors)
    return args


def _parse(key: Key, value: Any) -> Any:
    if key.type == "array" and isinstance(value, str) and _one_string(value):
        # `pullPrincipals: arn:…` in YAML (or `pulumi config set` without --path) gives one
        # string, which is neither a list nor JSON text of one.
        entry = "`- <entry>`" if key.items == "string" else "`- field: value` mappings"
        raise ConfigError(
            key.name,
            value,
            f"one string where a list belongs; write a YAML list under the key, {entry} per entry",
        )
    return key.parse(key.name, value)


def _one_string(value: str) -> bool:
    """Text that is no JSON and does not even try to be a list or mapping."""
    return isinstance(p.decode(value), str) and not value.lstrip().startswith(("[", "{"))


def _unknown_key_rule(name: str, keys: Mapping[str, Key]) -> str:
    close = difflib.get_close_matches(name, list(keys), n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]}?"
    return "unknown key; the keys are the config: block of Pulumi.yaml"
