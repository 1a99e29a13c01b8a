"""Pull-time update exclusions: declared by the one stack that owns them, only while a rule reads
pull times, for the deploy role by default.

ECR records a pull for every principal but Amazon Inspector
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-time-update-exclusions.html); the
deploy role's own reads (scan gate, SBOM, tagging) would otherwise keep every image "pulled".
"""

from __future__ import annotations

import json

from tests.infra.conftest import engine_config
from tests.infra.pulumi_harness import program_run

EXCLUSION = "aws:ecr/pullTimeUpdateExclusion:PullTimeUpdateExclusion"
DEPLOY = "arn:aws:iam::842676018087:role/retail-registry-ci-deploy"
SCANNER = "arn:aws:iam::842676018087:role/third-party-scanner"
ARCHIVE_IDLE = {
    "rulePriority": 5,
    "description": "Archive sha-* images nobody pulled for 90 days",
    "selection": {
        "tagStatus": "tagged",
        "tagPatternList": ["sha-*"],
        "countType": "sinceImagePulled",
        "countUnit": "days",
        "countNumber": 90,
    },
    "action": {"type": "transition", "targetStorageClass": "archive"},
}


def dev_with(**values: object) -> dict[str, str]:
    config = engine_config("dev")
    rules = [*json.loads(config["retail-registry:lifecycleRules"]), ARCHIVE_IDLE]
    config["retail-registry:lifecycleRules"] = json.dumps(rules)
    config["retail-registry:pushPrincipals"] = json.dumps([DEPLOY])
    config |= {f"retail-registry:{k}": json.dumps(v) for k, v in values.items()}
    return config


def test_the_owning_stack_excludes_the_deploy_role_by_default() -> None:
    with program_run("dev", dev_with(managePullTimeExclusions=True)) as run:
        (exclusion,) = run.of_type(EXCLUSION)
    assert exclusion.name == "retail-api-pull-exclusion-retail-registry-ci-deploy"
    assert exclusion.inputs == {"principalArn": DEPLOY}
    component = next(r for r in run.resources if r.type == "retail:infra:RetailRegistry")
    assert exclusion.parent == component.urn


def test_named_principals_replace_the_default() -> None:
    config = dev_with(managePullTimeExclusions=True, pullTimeExcludedPrincipals=[SCANNER, DEPLOY])
    with program_run("dev", config) as run:
        arns = [r.inputs["principalArn"] for r in run.of_type(EXCLUSION)]
    assert sorted(arns) == sorted([SCANNER, DEPLOY])


def test_another_stack_in_the_account_declares_none() -> None:
    with program_run("dev", dev_with(managePullTimeExclusions=False)) as run:
        assert run.of_type(EXCLUSION) == []


def test_without_a_pull_time_rule_there_is_nothing_to_exclude() -> None:
    config = engine_config("dev") | {"retail-registry:managePullTimeExclusions": "true"}
    with program_run("dev", config) as run:
        assert run.of_type(EXCLUSION) == []
