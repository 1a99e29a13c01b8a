"""ECR lifecycle policies you can check before they delete anything.

Pure Python, no Pulumi. The public surface is small:

- `analyse(document) -> LifecycleAnalysis`: parse and validate a policy document once
  (`ok`, `errors`, `warnings`, typed `rules` by priority). Never raises.
- `render(rules) -> str`: the canonical policy JSON for `aws.ecr.LifecyclePolicy`.
- `simulate(rules, images, now, relations=None)`: an offline preview with ECR's semantics on
  the output of `aws ecr describe-images` (`parse_describe_images`), with index and referrer
  relations from `aws ecr batch-get-image` (`parse_batch_get_image`) when you have them, and an
  `undetermined` list where the answer depends on relations nobody showed it;
  `Preview.fates()` gives every image's fate and the rule that decides it.
- `shield_rule(prefix)` and `rules_reaching_shield(rules, prefix)`: a first rule keeping every
  image tagged `prefix…`, and the rules that could still expire or archive such an image.

`python -m infra.lifecycle --help` for the CLI; docs/lifecycle.md for what is and is not
confirmed against AWS, and what moto does not model.
"""

from __future__ import annotations

from infra.lifecycle.analysis import LifecycleAnalysis, analyse
from infra.lifecycle.images import Image, ImagesError, parse_describe_images
from infra.lifecycle.manifests import ManifestsError, Relations, parse_batch_get_image
from infra.lifecycle.model import Rule, render
from infra.lifecycle.outcome import (
    DEFAULT_ARCHIVE_PRICE_PER_GB,
    DEFAULT_PRICE_PER_GB,
    Fate,
    Preview,
    PreviewResult,
    Undetermined,
)
from infra.lifecycle.shield import Reach, rules_reaching_shield, shield_rule
from infra.lifecycle.simulate import simulate

__all__ = [
    "DEFAULT_ARCHIVE_PRICE_PER_GB",
    "DEFAULT_PRICE_PER_GB",
    "Fate",
    "Image",
    "ImagesError",
    "LifecycleAnalysis",
    "ManifestsError",
    "Preview",
    "PreviewResult",
    "Reach",
    "Relations",
    "Rule",
    "Undetermined",
    "analyse",
    "parse_batch_get_image",
    "parse_describe_images",
    "render",
    "rules_reaching_shield",
    "shield_rule",
    "simulate",
]
