"""ECR lifecycle policies you can check before they delete anything.

Pure Python, no Pulumi: build the canonical policy document, validate it against ECR's rules
(errors ECR would reject, warnings for legal mistakes) and simulate it offline on the output of
`aws ecr describe-images` with ECR's semantics. `python -m infra.lifecycle --help` for the CLI.

Outside check: every policy `validate` accepts that uses only moto's subset of the schema is
also accepted by moto's `put_lifecycle_policy` (tests/infra/lifecycle/test_lifecycle_moto.py).
moto 5.x rejects these parts of the schema that AWS documents as valid: the `storageClass`
selection key (even "standard"), the `transition` action and its `targetStorageClass`, and the
count types `sinceImagePulled` and `sinceImageTransitioned`.

The simulator's estimatedMonthlyStorageUsd is retained bytes / 2**30 (AWS bills GB-months in
binary GB) times the price per GB-month, unrounded.
"""

from infra.lifecycle.findings import Findings, LifecyclePolicyError
from infra.lifecycle.images import Image, ImagesError, parse_describe_images
from infra.lifecycle.model import Rule
from infra.lifecycle.policy import build_policy, parse_policy, policy_json, validate
from infra.lifecycle.simulate import DEFAULT_PRICE_PER_GB, Preview, PreviewResult, simulate

__all__ = [
    "DEFAULT_PRICE_PER_GB",
    "Findings",
    "Image",
    "ImagesError",
    "LifecyclePolicyError",
    "Preview",
    "PreviewResult",
    "Rule",
    "build_policy",
    "parse_describe_images",
    "parse_policy",
    "policy_json",
    "simulate",
    "validate",
]
