"""The bridge from Pulumi's config to RetailRegistryArgs: the only config code importing Pulumi.

The `aws:` namespace is read here too, so the program's own AWS calls run as the provider does
and a key they cannot follow fails the config load, before anything is declared or pushed."""

from __future__ import annotations

import warnings
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from infra.aws_config import AwsConfigError, parse_aws_config
from infra.config import loader, settings
from infra.config.parsers import PROJECT, ConfigError


def read_args() -> settings.RetailRegistryArgs:
    """Validated args for the current stack; a bad value ends the run with one clear message
    before any resource is declared, so nothing is half-applied."""
    try:
        aws = parse_aws_config(_namespace_values("aws"))
        with warnings.catch_warnings(record=True) as noticed:
            warnings.simplefilter("always", loader.ConfigWarning)
            args = loader.load_args(_namespace_values(PROJECT), stack=pulumi.get_stack(), aws=aws)
    except (ConfigError, AwsConfigError) as error:
        # RunError ends the program with its message alone, no traceback.
        raise pulumi.RunError(str(error)) from None
    # Config the program follows but probably not as meant: in Pulumi's own output, not stderr.
    for notice in noticed:
        pulumi.log.warn(str(notice.message))
    for warning in args.lifecycle.warnings:
        pulumi.log.warn(f"{PROJECT}:lifecycleRules: {warning}")
    return args


def _namespace_values(namespace: str) -> dict[str, Any]:
    # pulumi.Config only answers for keys it is asked about; listing every key set in the
    # namespace is what lets a misspelt key fail instead of silently falling back to a default.
    prefix = f"{namespace}:"
    every_key = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {
        key.removeprefix(prefix): runtime_config.get_config(key)
        for key in every_key
        if key.startswith(prefix)
    }
