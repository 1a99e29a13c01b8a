"""The policy pack's own policies (`policy.retail_policies.POLICIES`) run over the resources
an offline run declared, as the engine runs them at `pulumi preview --policy-pack policy`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from infra.offline_run import Declared
from policy.retail_policies import POLICIES


@dataclass(frozen=True)
class Violation:
    policy: str
    mandatory: bool
    message: str

    def line(self) -> str:
        level = "mandatory" if self.mandatory else "advisory"
        return f"policy {self.policy} ({level}): {self.message}"


def violations(resources: Sequence[Declared]) -> list[Violation]:
    """Every violation, mandatory ones first; inputs stand in for outputs, as the checked
    properties are all inputs the program sets."""
    found: list[Violation] = []
    for policy in POLICIES:
        mandatory = policy.enforcement_level is EnforcementLevel.MANDATORY

        def report(
            message: str, _urn: Any, name: str = policy.name, hard: bool = mandatory
        ) -> None:
            found.append(Violation(name, hard, message))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                validation = ResourceValidationArgs(
                    r.type, r.inputs, r.urn, r.name, _options(r.protect), None
                )
                policy.validate(validation, report)
        else:
            stack = [
                PolicyResource(
                    r.type, r.inputs, r.urn, r.name, _options(r.protect), None, None, [], {}
                )
                for r in resources
            ]
            policy.validate(StackValidationArgs(stack), report)
    return sorted(found, key=lambda v: not v.mandatory)


def _options(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
