"""Stack configuration, in one place: the key table, its loader and the stack-file reader.

- `settings`: the table (`RetailRegistryArgs`, one `config_key` field per key); `loader.load_args`
  validates raw values against it and `rules` holds the rules across keys.
- `keys`: what a row holds and what is derived from the rows (defaults, the `Pulumi.yaml`
  schema, the README table check).
- `parsers`: one parser per kind of value; `lifecycle_rules`: the lifecycle key, analysed once.
- `stack_file.read_stack_values`: the one reader of `Pulumi.<stack>.yaml`; `review.review_stack`
  every problem of one at once; `stack_template` writes a complete one.
- `pulumi_reader.read_args`: the program's entry (imports Pulumi; not re-exported here, so the
  pure parts load without it).
"""

from infra.config.keys import Key, keys_of, pulumi_schema, readme_table_problems
from infra.config.lifecycle_rules import DEFAULT_LIFECYCLE_RULES, LifecycleSettings
from infra.config.loader import load_args
from infra.config.parsers import PROJECT, ConfigError
from infra.config.rules import MAX_MUTABLE_TAG_FILTERS, tag_is_immutable
from infra.config.settings import RetailRegistryArgs, resource_tags
from infra.config.stack_file import StackFileError, read_stack_values

__all__ = [
    "DEFAULT_LIFECYCLE_RULES",
    "MAX_MUTABLE_TAG_FILTERS",
    "PROJECT",
    "ConfigError",
    "Key",
    "LifecycleSettings",
    "RetailRegistryArgs",
    "StackFileError",
    "keys_of",
    "load_args",
    "pulumi_schema",
    "read_stack_values",
    "readme_table_problems",
    "resource_tags",
    "tag_is_immutable",
]
