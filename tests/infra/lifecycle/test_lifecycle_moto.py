"""Outside check: moto's ECR accepts every policy the validator accepts (within moto's subset).

moto 5.x implements an older schema. What it rejects although AWS documents it as valid is
pinned by `test_moto_rejects_documented_features`, so a moto upgrade that closes the gap shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]
from hypothesis import HealthCheck, assume, given, settings
from moto import mock_aws

from infra.lifecycle import policy_json, validate

from .helpers import archive_unpulled, policies, rule

REGION = "ap-southeast-1"
REPOSITORY = "lifecycle-check"


@pytest.fixture(scope="module")
def ecr() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as env:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            env.setenv(key, value)
        env.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            client = boto3.client("ecr", region_name=REGION)
            client.create_repository(repositoryName=REPOSITORY)
            yield client


def put(ecr: Any, text: str) -> None:
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=text)


@settings(
    max_examples=60,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(policy=policies(moto_only=True))
def test_moto_accepts_every_valid_policy(ecr: Any, policy: dict[str, Any]) -> None:
    assume(validate(policy).ok)
    text = policy_json(policy)
    put(ecr, text)
    stored = ecr.get_lifecycle_policy(repositoryName=REPOSITORY)["lifecyclePolicyText"]
    assert stored == text


def test_moto_accepts_the_default_rules(ecr: Any) -> None:
    from infra.config import DEFAULT_LIFECYCLE_RULES

    put(ecr, policy_json({"rules": list(DEFAULT_LIFECYCLE_RULES)}))


@pytest.mark.parametrize(
    "documented_rule",
    [
        rule(1, "untagged", count_type="sinceImagePushed", storage="standard"),
        rule(1, "any", count_type="sinceImagePulled", number=30),
        archive_unpulled(1),
        rule(1, "any", count_type="sinceImageTransitioned", number=90, storage="archive"),
    ],
    ids=["storageClass", "sinceImagePulled", "transition", "sinceImageTransitioned"],
)
def test_moto_rejects_documented_features(ecr: Any, documented_rule: dict[str, Any]) -> None:
    document = {"rules": [documented_rule]}
    assert validate(document).ok  # valid per the AWS documentation
    with pytest.raises(ClientError) as caught:
        put(ecr, policy_json(document))
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
