"""Outside check: moto's ECR accepts every policy the validator accepts (within moto's subset).

moto 5.x implements an older schema. What it rejects although AWS documents it as valid is
pinned by `test_moto_rejects_documented_features`, so a moto upgrade that closes the gap shows.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]
from hypothesis import HealthCheck, assume, given, settings

from infra.config import DEFAULT_LIFECYCLE_RULES
from infra.lifecycle import analyse, render

from .strategies import policies
from .support import archive_unpulled, rule

REPOSITORY = "lifecycle-check"


def rendered(document: dict[str, Any]) -> str:
    analysis = analyse(document)
    assert analysis.ok, analysis.errors
    return render(analysis.rules)


def put(ecr: Any, text: str) -> None:
    # `ecr` (tests/infra/conftest.py) is a fresh moto account per test.
    if not ecr.describe_repositories()["repositories"]:
        ecr.create_repository(repositoryName=REPOSITORY)
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=text)


@settings(
    max_examples=60,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(policy=policies(moto_only=True))
def test_moto_accepts_every_valid_policy(ecr: Any, policy: dict[str, Any]) -> None:
    assume(analyse(policy).ok)
    text = rendered(policy)
    put(ecr, text)
    stored = ecr.get_lifecycle_policy(repositoryName=REPOSITORY)["lifecyclePolicyText"]
    assert stored == text


def test_moto_accepts_the_default_rules(ecr: Any) -> None:
    put(ecr, rendered({"rules": list(DEFAULT_LIFECYCLE_RULES)}))


@pytest.mark.parametrize(
    "documented_rule",
    [
        archive_unpulled(1),
        rule(1, "any", count_type="sinceImageTransitioned", number=90, storage="archive"),
    ],
    ids=["sinceImagePulled-transition", "storageClass-archive-sinceImageTransitioned"],
)
def test_moto_rejects_documented_features(ecr: Any, documented_rule: dict[str, Any]) -> None:
    document = {"rules": [documented_rule]}
    text = rendered(document)  # valid per the AWS documentation
    with pytest.raises(ClientError) as caught:
        put(ecr, text)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
