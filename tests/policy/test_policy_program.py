"""The real program's resources, recorded under Pulumi mocks, run through every policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from policy import checks
from policy.retail_policies import POLICIES
from tests.infra.conftest import engine_config
from tests.infra.pulumi_harness import ProgramRun, Registration, program_run
from tests.policy.conftest import policy_options

Violations = dict[str, list[str]]


def _evaluate(resources: list[Registration]) -> Violations:
    """Policy name -> messages, as the engine would collect them for this stack."""
    found: Violations = {}

    def reporter(name: str) -> Any:
        return lambda message, _urn: found.setdefault(name, []).append(message)

    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type, r.inputs, r.urn, r.name, policy_options(), None
                )
                policy.validate(args, reporter(policy.name))
        else:
            # Inputs stand in for outputs here; the checked keys are inputs the program sets.
            stack = [
                PolicyResource(
                    r.type, r.inputs, r.urn, r.name, policy_options(), None, None, [], {}
                )
                for r in resources
            ]
            policy.validate(StackValidationArgs(stack), reporter(policy.name))
    return found


@pytest.fixture(scope="module", params=["prod", "dev"])
def stack_run(request: pytest.FixtureRequest) -> Iterator[tuple[str, ProgramRun]]:
    with program_run(request.param, engine_config(request.param)) as run:
        yield request.param, run


def test_program_declares_every_resource_the_policies_inspect(
    stack_run: tuple[str, ProgramRun],
) -> None:
    stack, run = stack_run
    types = {r.type for r in run.resources}
    assert {checks.REPOSITORY_TYPE, checks.LIFECYCLE_POLICY_TYPE} <= types
    # prod promotes the image dev built: the image policies meet it in dev's run.
    assert (checks.DOCKER_IMAGE_TYPE in types) == (stack == "dev")


def test_program_passes_every_mandatory_policy(stack_run: tuple[str, ProgramRun]) -> None:
    _, run = stack_run
    mandatory = {p.name for p in POLICIES if p.enforcement_level is EnforcementLevel.MANDATORY}
    violations = _evaluate(run.resources)
    assert {name: msgs for name, msgs in violations.items() if name in mandatory} == {}


def test_no_force_delete_warning(stack_run: tuple[str, ProgramRun]) -> None:
    _, run = stack_run
    assert "ecr-no-force-delete-on-prod" not in _evaluate(run.resources)


def test_dropping_the_lifecycle_policy_is_caught(stack_run: tuple[str, ProgramRun]) -> None:
    _, run = stack_run
    without = [r for r in run.resources if r.type != checks.LIFECYCLE_POLICY_TYPE]
    [message] = _evaluate(without)["ecr-repository-has-lifecycle-policy"]
    assert "has no LifecyclePolicy" in message
