"""Entry point Pulumi runs for `--policy-pack policy`: builds the pack and serves it (blocks)."""

import sys
from pathlib import Path

# Pulumi starts the pack with only policy/ on sys.path, but the checks reuse the program's own
# lifecycle validator (`infra.lifecycle`) and live in the `policy` package, both at repo root.
_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policy.retail_policies import PACK_NAME, POLICIES  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=list(POLICIES),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Guardrails for the retail-registry ECR repository and image.",
)
