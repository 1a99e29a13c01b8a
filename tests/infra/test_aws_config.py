"""infra/aws_config.py: the `aws:` keys the program's own AWS calls follow, refuse or ignore.

Key names and shapes are pulumi-aws's provider configuration (assumeRoles: a list of
{roleArn, sessionName, externalId, duration, policy, policyArns, sourceIdentity, tags,
transitiveTagKeys}; endpoints: a list of one {service: url} object; durations in Go syntax).
"""

from __future__ import annotations

import json

import pulumi
import pytest

from infra.aws_config import AwsConfigError, RoleToAssume, duration_seconds, parse_aws_config
from tests.infra.conftest import engine_config
from tests.infra.pulumi_harness import ProgramRun, program_run

ROLE = "arn:aws:iam::842676018087:role/retail-deploy"


def test_an_empty_namespace_is_the_default_chain() -> None:
    config = parse_aws_config({})
    assert (config.profile, config.access_key, config.assume_roles) == (None, None, ())


def test_assume_roles_as_the_engine_hands_them() -> None:
    raw = [
        {
            "roleArn": ROLE,
            "sessionName": "retail-registry",
            "externalId": "ci",
            "duration": "1h30m",
            "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "tags": {"team": "mlops"},
            "transitiveTagKeys": ["team"],
            "sourceIdentity": "ci-bot",
        }
    ]
    (role,) = parse_aws_config({"assumeRoles": json.dumps(raw)}).assume_roles
    assert role == RoleToAssume(
        ROLE,
        {
            "RoleSessionName": "retail-registry",
            "ExternalId": "ci",
            "DurationSeconds": 5400,
            "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            "Tags": [{"Key": "team", "Value": "mlops"}],
            "TransitiveTagKeys": ["team"],
            "SourceIdentity": "ci-bot",
        },
    )


def test_web_identity_needs_a_token() -> None:
    value = {"roleArn": ROLE, "webIdentityTokenFile": "/var/run/token", "sessionName": "gha"}
    role = parse_aws_config({"assumeRoleWithWebIdentity": json.dumps(value)}).web_identity
    assert role is not None and role.web_identity_token_file == "/var/run/token"
    with pytest.raises(AwsConfigError) as caught:
        parse_aws_config({"assumeRoleWithWebIdentity": json.dumps({"roleArn": ROLE})})
    assert str(caught.value) == (
        "aws:assumeRoleWithWebIdentity: needs webIdentityToken or webIdentityTokenFile"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"noProxy": "10.0.0.0/8"}, "aws:noProxy: not supported: botocore takes proxies per"),
        ({"skipGetEc2Platforms": "true"}, "aws:skipGetEc2Platforms: unknown to this program"),
        ({"sharedConfigFiles": '["a", "b"]'}, "aws:sharedConfigFiles: list 2 files; botocore"),
        ({"assumeRoles": '[{"roleArn": "arn:aws:iam::1:role/x"}]'}, "aws:assumeRoles[0].roleArn"),
        ({"assumeRoles": json.dumps([{"roleArn": ROLE, "mfa": "x"}])}, "aws:assumeRoles[0].mfa"),
        (
            {"assumeRoles": json.dumps([{"roleArn": ROLE, "duration": "5m"}])},
            "aws:assumeRoles[0].duration",
        ),
        ({"accessKey": "AKIA0000000000000000"}, "aws:secretKey: accessKey and secretKey"),
        ({"allowedAccountIds": '["84267601808"]'}, "aws:allowedAccountIds: '84267601808' is not"),
        ({"retryMode": "fast"}, "aws:retryMode: 'fast' is not one of standard, adaptive, legacy"),
        ({"maxRetries": "many"}, "aws:maxRetries: 'many' must be a whole number"),
        ({"endpoints": '[{"ecr": "not a url"}]'}, "aws:endpoints[0].ecr: 'not a url' is not a URL"),
        ({"insecure": "yes"}, "aws:insecure: 'yes' must be true or false"),
        ({"assumeRoles": "[{"}, "aws:assumeRoles: not valid JSON"),
    ],
)
def test_a_key_the_calls_cannot_follow_is_refused_by_name(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(AwsConfigError) as caught:
        parse_aws_config(values)
    assert str(caught.value).startswith(message)


def test_keys_that_shape_only_resources_are_ignored() -> None:
    values = {
        "defaultTags": json.dumps({"tags": {"team": "mlops"}}),
        "ignoreTags": json.dumps({"keys": ["x"]}),
        "skipCredentialsValidation": "true",
        "skipRequestingAccountId": "true",
        "s3UsePathStyle": "true",
    }
    assert parse_aws_config(values) == parse_aws_config({})


def test_endpoints_keep_only_the_services_called() -> None:
    config = parse_aws_config(
        {"endpoints": json.dumps([{"ecr": "http://127.0.0.1:5000", "s3": "http://x:1"}])}
    )
    assert config.endpoints == {"ecr": "http://127.0.0.1:5000"}


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("1h", 3600), ("12h", 43200), ("1h30m", 5400)]
)
def test_go_durations(text: str, seconds: int) -> None:
    assert duration_seconds("d", text) == seconds


def test_an_unsupported_key_fails_the_program_before_any_resource() -> None:
    config = {**engine_config("prod"), "aws:noProxy": "169.254.169.254"}
    run = ProgramRun()
    with pytest.raises(pulumi.RunError) as caught, program_run("prod", config, run=run):
        pass
    assert str(caught.value).startswith("aws:noProxy: not supported")
    assert run.resources == []
