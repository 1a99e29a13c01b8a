"""The Pulumi program under mocks, with the committed stack files loaded as config."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pulumi
import pulumi_docker as docker
import pytest
import yaml

from infra.access_policy import PULL_ACTIONS, PUSH_ACTIONS
from infra.image_tag import build_plan
from infra.paths import PROJECT_ROOT, SERVER_DIR
from tests.infra.lifecycle.helpers import rule
from tests.infra.pulumi_harness import (
    ACCOUNT,
    TOKEN_CALL,
    ProgramRun,
    is_secret,
    program_run,
    resolve,
)

COMPONENT = "retail:infra:RetailRegistry"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
IMAGE = "docker:index/image:Image"
OUTPUTS = (
    "repositoryName",
    "repositoryUrl",
    "repositoryArn",
    "registryId",
    "region",
    "imageTag",
    "imageUri",
    "imageDigest",
    "imageRef",
)


def engine_config(stack: str) -> dict[str, str]:
    """The stack file as the engine hands it to a program: every value a string."""
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in document["config"].items()
    }


@pytest.fixture(scope="module", params=["prod", "dev"])
def stack_run(request: pytest.FixtureRequest) -> Iterator[tuple[str, ProgramRun]]:
    with program_run(request.param, engine_config(request.param)) as run:
        yield request.param, run


def stack_values(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {
        k.split(":", 1)[1]: v
        for k, v in document["config"].items()
        if k.startswith("retail-registry:")
    }


def test_every_child_is_parented_to_the_one_component(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    (component,) = run.of_type(COMPONENT)
    children = [r for r in run.resources if r.type != COMPONENT]
    expected = {REPOSITORY, LIFECYCLE, IMAGE}
    if stack_values(stack).get("pullPrincipals"):
        expected.add(REPOSITORY_POLICY)
    assert {r.type for r in children} == expected
    for child in children:
        assert child.parent == component.urn, child.name
        assert child.name.startswith(f"{component.name}-")
        assert re.fullmatch(r"[a-z0-9-]+", child.name)


def test_repository_properties_follow_the_stack(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    values = stack_values(stack)
    repository = run.one(REPOSITORY)
    assert repository.inputs["name"] == values["repositoryName"]
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repository.inputs["forceDelete"] is values["forceDelete"]
    assert repository.protect is values.get("protect", True)
    assert repository.inputs["tags"] == {
        "project": "retail-registry",
        "stack": stack,
        "managed-by": "pulumi",
    }
    assert "imageTagMutabilityExclusionFilters" not in repository.inputs


def test_lifecycle_policy_is_the_canonical_rendering(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    lifecycle = run.one(LIFECYCLE)
    assert lifecycle.inputs["repository"] == stack_values(stack)["repositoryName"]
    rules = stack_values(stack)["lifecycleRules"]
    assert json.loads(lifecycle.inputs["policy"]) == {"rules": rules}
    priorities = [r["rulePriority"] for r in json.loads(lifecycle.inputs["policy"])["rules"]]
    assert priorities == sorted(priorities)


def test_repository_policy_grants_pull_and_push_to_the_configured_roles(
    stack_run: tuple[str, ProgramRun],
) -> None:
    stack, run = stack_run
    values = stack_values(stack)
    policies = run.of_type(REPOSITORY_POLICY)
    if not (values.get("pullPrincipals") or values.get("pushPrincipals")):
        assert policies == []
        return
    (policy,) = policies
    assert policy.inputs["repository"] == values["repositoryName"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["AllowPull"]["Principal"] == {"AWS": values["pullPrincipals"]}
    assert statements["AllowPull"]["Action"] == list(PULL_ACTIONS)
    assert statements["AllowPush"]["Principal"] == {"AWS": values["pushPrincipals"]}
    assert set(statements["AllowPush"]["Action"]) == set(PULL_ACTIONS + PUSH_ACTIONS)


def test_image_builds_server_and_logs_in_with_a_fresh_token(
    stack_run: tuple[str, ProgramRun],
) -> None:
    stack, run = stack_run
    image = run.one(IMAGE)
    plan = build_plan(SERVER_DIR, SERVER_DIR / "Dockerfile", "linux/amd64")
    url = f"{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com/{stack_values(stack)['repositoryName']}"
    assert image.inputs["imageName"] == f"{url}:{plan.tag}"
    assert image.inputs["build"] == {
        "context": "server",
        "dockerfile": "server/Dockerfile",
        "platform": "linux/amd64",
        "args": plan.build_args,
    }
    registry = image.inputs["registry"]
    assert registry["server"] == f"https://{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com"
    assert registry["username"] == "AWS"
    assert registry["password"] == f"ecr-token-for-{ACCOUNT}"
    token_calls = [args for token, args in run.calls if token == TOKEN_CALL]
    assert token_calls == [{"registryId": ACCOUNT}]


def test_registry_password_reaches_the_engine_as_a_secret(
    stack_run: tuple[str, ProgramRun],
) -> None:
    _, run = stack_run
    image = run.one(IMAGE)
    assert image.secret_paths == [("registry", "password")]


def test_outputs_are_the_documented_contract(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    assert tuple(run.exports) == OUTPUTS
    values = {name: resolve(pulumi.Output.from_input(run.exports[name])) for name in OUTPUTS}
    name = stack_values(stack)["repositoryName"]
    url = f"{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com/{name}"
    assert values["repositoryName"] == name
    assert values["repositoryUrl"] == url
    assert values["repositoryArn"] == f"arn:aws:ecr:ap-southeast-1:{ACCOUNT}:repository/{name}"
    assert values["registryId"] == ACCOUNT
    assert values["region"] == "ap-southeast-1"
    assert re.fullmatch(r"sha-[0-9a-f]{12}", values["imageTag"])
    assert values["imageUri"] == f"{url}:{values['imageTag']}"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", values["imageDigest"])
    assert values["imageRef"] == f"{url}@{values['imageDigest']}"
    for output in run.exports.values():
        assert not is_secret(pulumi.Output.from_input(output))


def test_optional_settings_reach_the_resources() -> None:
    kms = "arn:aws:kms:ap-southeast-1:842676018087:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    config = {
        "aws:region": "ap-southeast-1",
        "retail-registry:tagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "retail-registry:mutableTags": json.dumps(["cache-*"]),
        "retail-registry:kmsKeyArn": kms,
        "retail-registry:scanOnPush": "false",
        "retail-registry:imageTag": "v1.4.0",
        "retail-registry:imagePlatform": "linux/arm64",
        "retail-registry:pullOrganizationIds": json.dumps(["o-abcdefghij"]),
    }
    with program_run("custom", config) as run:
        repository = run.one(REPOSITORY)
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
        assert repository.inputs["imageTagMutabilityExclusionFilters"] == [
            {"filter": "cache-*", "filterType": "WILDCARD"}
        ]
        assert repository.inputs["encryptionConfigurations"] == [
            {"encryptionType": "KMS", "kmsKey": kms}
        ]
        assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": False}
        assert repository.protect is True
        image = run.one(IMAGE)
        assert image.inputs["imageName"].endswith(":v1.4.0")
        assert image.inputs["build"]["platform"] == "linux/arm64"
        (policy,) = run.of_type(REPOSITORY_POLICY)
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert statement["Sid"] == "AllowPullFromOrganizations"
        assert resolve(pulumi.Output.from_input(run.exports["imageTag"])) == "v1.4.0"


def test_bad_config_stops_before_any_resource_with_one_message() -> None:
    config = {"aws:region": "ap-southeast-1", "retail-registry:pullPrincipals": json.dumps(["*"])}
    run = ProgramRun()
    with pytest.raises(pulumi.RunError) as caught, program_run("bad", config, run=run):
        pass
    assert "retail-registry:pullPrincipals" in str(caught.value)
    assert "wildcard" in str(caught.value)
    assert run.resources == [], "nothing may be half-applied"
    assert run.calls == []


def test_registry_password_is_a_secret_output(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: dict[str, Any] = {}
    original = docker.Image.__init__

    def capture(self: docker.Image, *args: Any, **kwargs: Any) -> None:
        captured.update(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(docker.Image, "__init__", capture)
    with program_run("prod", engine_config("prod")):
        password = captured["registry"].password
        assert isinstance(password, pulumi.Output)
        assert is_secret(password)
        assert resolve(password) == f"ecr-token-for-{ACCOUNT}"


def test_lifecycle_warnings_are_logged_with_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: warnings.append(message))
    rules = [rule(1, prefixes=["prod", "dev"], number=10)]
    config = {"aws:region": "ap-southeast-1", "retail-registry:lifecycleRules": json.dumps(rules)}
    with program_run("warned", config) as run:
        assert run.one(LIFECYCLE)
    assert warnings
    assert all(w.startswith("retail-registry:lifecycleRules: ") for w in warnings)
    assert any("tagPrefixList" in w for w in warnings)


def test_misspelt_key_is_an_error_not_a_silent_default() -> None:
    config = {"aws:region": "ap-southeast-1", "retail-registry:scanOnPsh": "false"}
    with (
        pytest.raises(pulumi.RunError, match=r"retail-registry:scanOnPsh.*unknown key"),
        program_run("typo", config),
    ):
        pass
