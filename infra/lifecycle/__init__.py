"""ECR lifecycle policies you can check before they delete anything.

Pure Python, no Pulumi. The public surface is small:

- `analyse(document) -> LifecycleAnalysis`: parse and validate a policy document once
  (`ok`, `errors`, `warnings`, typed `rules` by priority). Never raises.
- `render(rules) -> str`: the canonical policy JSON for `aws.ecr.LifecyclePolicy`.
- `simulate(rules, images, now)`: an offline preview with ECR's semantics on the output of
  `aws ecr describe-images` (`parse_describe_images`).

`python -m infra.lifecycle --help` for the CLI; docs/lifecycle.md for what is and is not
confirmed against AWS, and what moto does not model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from infra.lifecycle.analysis import LifecycleAnalysis, analyse
from infra.lifecycle.images import Image, ImagesError, parse_describe_images
from infra.lifecycle.model import Rule, render
from infra.lifecycle.simulate import DEFAULT_PRICE_PER_GB, Preview, PreviewResult, simulate

__all__ = [
    "DEFAULT_PRICE_PER_GB",
    "Image",
    "ImagesError",
    "LifecycleAnalysis",
    "Preview",
    "PreviewResult",
    "Rule",
    "analyse",
    "build_policy",
    "parse_describe_images",
    "policy_json",
    "render",
    "simulate",
    "validate",
]


# TRANSITIONAL, removed as soon as infra/settings.py, infra/registry.py and their tests call
# `analyse` and `render` (issue 9): the three old entry points, now thin wrappers.
def validate(document: object) -> LifecycleAnalysis:
    return analyse(document)


def policy_json(document: Mapping[str, Any]) -> str:
    analysis = analyse(document)
    if not analysis.ok:
        raise ValueError("invalid ECR lifecycle policy: " + "; ".join(analysis.errors))
    return render(analysis.rules)


def build_policy(rules: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(policy_json({"rules": list(rules)}))
    return document
