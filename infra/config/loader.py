"""`load_args`: raw values of the project namespace -> the validated settings, in one pass.

Every value is parsed by its row of the key table (`settings.RetailRegistryArgs`), then the
rules across keys (`rules`) run on the values that parsed; every problem is one line of the
ConfigError raised at the end. Pure Python: the Pulumi reader, the stack-file tools and the
tests all load through here.
"""

from __future__ import annotations

import dataclasses
import difflib
import warnings
from collections.abc import Mapping
from typing import Any

from infra.aws_config import AwsConfig
from infra.config import parsers as p
from infra.config import settings
from infra.config.keys import Key, keys_of
from infra.config.parsers import PROJECT, ConfigError
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
    args = _one_platform_set(
        settings.RetailRegistryArgs(stack=stack, aws=aws or AwsConfig(), **parsed), values
    )
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


class ConfigWarning(UserWarning):
    """A config the program follows, but probably not as its author meant."""


def _one_platform_set(
    args: settings.RetailRegistryArgs, values: Mapping[str, Any]
) -> settings.RetailRegistryArgs:
    """`imagePlatform` (one platform) and `imagePlatforms` (the set) made to agree: the set
    wins when both are set (with a warning), `imagePlatform` alone is a set of one, and the
    single-platform readers (`image_platform`) see the set's first, default platform.

    Both the Pulumi engine and `read_stack_values` hand over every key with the table default
    filled in, so a key counts as set when its value differs from that default (as
    `lifecycleRules` equal to the defaults are the defaults)."""
    keys = {key.name: key for key in keys_of(settings.RetailRegistryArgs)}
    one, many = keys["imagePlatform"], keys["imagePlatforms"]
    default_one = one.parse(one.name, one.default)
    default_set = many.parse(many.name, many.default)
    has_one = values.get(one.name) is not None and args.image_platform != default_one
    has_set = values.get(many.name) is not None and args.image_platforms != default_set
    if has_set and has_one:
        warnings.warn(
            f"{PROJECT}:imagePlatform ({args.image_platform}) is ignored: {PROJECT}:"
            f"imagePlatforms ({', '.join(args.image_platforms)}) is set and wins; remove "
            "imagePlatform from the stack file",
            ConfigWarning,
            stacklevel=3,
        )
    if has_set:
        return dataclasses.replace(args, image_platform=args.image_platforms[0])
    return dataclasses.replace(args, image_platforms=(args.image_platform,))


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
