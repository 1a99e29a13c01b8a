"""Helpers shared by the policy-pack tests."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions


def policy_options() -> PolicyResourceOptions:
    """Resource options as the engine sends them for a plain resource: not protected, no
    dependencies, no provider, no aliases, no custom timeouts, no additional secret outputs."""
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def policy_props(document: Any, repository: str = "retail-api") -> dict[str, Any]:
    """A LifecyclePolicy's or RepositoryPolicy's properties: the document as JSON text."""
    return {"repository": repository, "policy": json.dumps(document)}
