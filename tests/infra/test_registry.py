"""infra/registry.py under mocks, with the committed stack files as config.

Expected values are written out here or read from the stack files and the Dockerfile with
plain YAML and regexes, never computed by the modules under test.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pulumi
import pulumi_docker as docker
import pytest

from infra.paths import PROJECT_ROOT
from tests.infra.conftest import ACCOUNT, REGION, STACKS, engine_config, stack_values
from tests.infra.promotion.support import building
from tests.infra.pulumi_harness import TOKEN_CALL, ProgramRun, is_secret, program_run, resolve

COMPONENT = "retail:infra:RetailRegistry"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
IMAGE = "docker:index/image:Image"
PROMOTION = "pulumi-python:dynamic/promotion:RegistryCopy"
# ECR user guide, "Repository policy examples": what pulling and pushing an image need.
PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
PUSH = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]
PINNED_BASE = re.compile(r"^ARG BASE_IMAGE=(\S+@sha256:[0-9a-f]{64})$", re.MULTILINE)


@pytest.fixture(scope="module", params=STACKS)
def stack_run(request: pytest.FixtureRequest) -> Iterator[tuple[str, ProgramRun]]:
    with program_run(request.param, engine_config(request.param)) as run:
        yield request.param, run


def url_of(stack: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{stack_values(stack)['repositoryName']}"


def test_every_child_is_parented_to_the_one_component(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    (component,) = run.of_type(COMPONENT)
    children = [r for r in run.resources if r.type != COMPONENT]
    expected = {
        # prod promotes dev's image: a copy, no build.
        "prod": {REPOSITORY, LIFECYCLE, REPOSITORY_POLICY, PROMOTION},
        "dev": {REPOSITORY, LIFECYCLE, IMAGE},
    }
    assert {r.type for r in children} == expected[stack]
    names = {r.name for r in children}
    assert names <= {
        "retail-api-repo",
        "retail-api-lifecycle",
        "retail-api-policy",
        "retail-api-image",
        "retail-api-promotion",
    }
    for child in children:
        assert child.parent == component.urn, child.name


def test_repository_properties_follow_the_stack(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    repository = run.one(REPOSITORY)
    expected = {
        "prod": ("mlops/retail-api", False, True),
        "dev": ("mlops-dev/retail-api", True, False),
    }
    name, force_delete, protect = expected[stack]
    assert repository.inputs["name"] == name
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repository.inputs["forceDelete"] is force_delete
    assert repository.protect is protect
    assert repository.inputs["tags"] == {
        "project": "retail-registry",
        "stack": stack,
        "managed-by": "pulumi",
    }
    assert "imageTagMutabilityExclusionFilters" not in repository.inputs


def test_lifecycle_policy_is_the_stack_files_rules(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    lifecycle = run.one(LIFECYCLE)
    assert lifecycle.inputs["repository"] == stack_values(stack)["repositoryName"]
    assert json.loads(lifecycle.inputs["policy"]) == {
        "rules": stack_values(stack)["lifecycleRules"]
    }
    counts = [
        r["selection"]["countNumber"] for r in json.loads(lifecycle.inputs["policy"])["rules"]
    ]
    assert counts == {"prod": [1, 9999, 10, 30], "dev": [1, 9999, 3, 10]}[stack]


def test_prod_repository_policy_grants_pull_and_push_to_its_two_roles(
    stack_run: tuple[str, ProgramRun],
) -> None:
    stack, run = stack_run
    policies = run.of_type(REPOSITORY_POLICY)
    if stack == "dev":
        assert policies == []
        return
    (policy,) = policies
    assert policy.inputs["repository"] == "mlops/retail-api"
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert set(statements) == {"AllowPull", "AllowPush"}
    role = f"arn:aws:iam::{ACCOUNT}:role/"
    assert statements["AllowPull"]["Principal"] == {
        "AWS": [role + "mlops-retail-cluster-node-role"]
    }
    assert statements["AllowPull"]["Action"] == PULL
    assert statements["AllowPush"]["Principal"] == {"AWS": [role + "retail-registry-ci-deploy"]}
    assert sorted(statements["AllowPush"]["Action"]) == sorted(PULL + PUSH)
    assert all(s["Effect"] == "Allow" for s in statements.values())


@pytest.fixture(scope="module", params=STACKS)
def build_run(request: pytest.FixtureRequest) -> Iterator[tuple[str, ProgramRun]]:
    """Each stack file as a building stack (prod's committed file promotes instead)."""
    with program_run(request.param, building(engine_config(request.param))) as run:
        yield request.param, run


def test_image_builds_server_with_the_pinned_base_and_a_fresh_token(
    build_run: tuple[str, ProgramRun],
) -> None:
    stack, run = build_run
    image = run.one(IMAGE)
    name, tag = image.inputs["imageName"].rsplit(":", 1)
    assert name == url_of(stack)
    assert re.fullmatch(r"sha-[0-9a-f]{12}", tag)
    (base,) = PINNED_BASE.findall((PROJECT_ROOT / "server/Dockerfile").read_text())
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    assert image.inputs["build"] == {
        "context": "server",
        "dockerfile": "server/Dockerfile",
        "platform": "linux/amd64",
        "args": {
            "BASE_IMAGE": base,
            "VERSION": version,
            "REVISION": tag,
            "BUILDKIT_INLINE_CACHE": "1",
        },
        # pulumi-docker's enum value for BuildKit (its schema: BuilderV1 | BuilderBuildKit).
        "builderVersion": "BuilderBuildKit",
    }
    registry = image.inputs["registry"]
    assert registry["server"] == f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    assert registry["username"] == "AWS"
    assert registry["password"] == f"ecr-token-for-{ACCOUNT}"
    assert [args for token, args in run.calls if token == TOKEN_CALL] == [{"registryId": ACCOUNT}]
    assert image.secret_paths == [("registry", "password")]


def test_optional_settings_reach_the_resources() -> None:
    kms = "arn:aws:kms:ap-southeast-1:842676018087:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    config = {
        "aws:region": REGION,
        "retail-registry:tagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "retail-registry:mutableTags": json.dumps(["cache-*"]),
        "retail-registry:kmsKeyArn": kms,
        "retail-registry:scanOnPush": "false",
        "retail-registry:scanFailSeverity": "NONE",
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
        assert (
            image.inputs["imageName"]
            == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlops/retail-api:v1.4.0"
        )
        assert image.inputs["build"]["platform"] == "linux/arm64"
        (policy,) = run.of_type(REPOSITORY_POLICY)
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert statement["Sid"] == "AllowPullFromOrganizations"
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ["o-abcdefghij"]}}
        assert resolve(pulumi.Output.from_input(run.exports["imageTag"])) == "v1.4.0"


def test_registry_password_is_a_secret_output(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: dict[str, Any] = {}
    original = docker.Image.__init__

    def capture(self: docker.Image, *args: Any, **kwargs: Any) -> None:
        captured.update(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(docker.Image, "__init__", capture)
    with program_run("prod", building(engine_config("prod"))):
        password = captured["registry"].password
        assert isinstance(password, pulumi.Output)
        assert is_secret(password)
        assert resolve(password) == f"ecr-token-for-{ACCOUNT}"


def test_the_lifecycle_doc_says_the_component_only_passes_the_rendered_policy_on() -> None:
    """infra/registry.py never calls `analyse`; docs/lifecycle.md must not say it does."""
    assert "analyse" not in (PROJECT_ROOT / "infra" / "registry.py").read_text()
    doc = (PROJECT_ROOT / "docs" / "lifecycle.md").read_text()
    [row] = [line for line in doc.splitlines() if line.startswith("| `analyse(")]
    assert "the component and the CrossGuard pack all use it" not in row
    assert (
        "Two callers, once each: the settings (`infra/config/lifecycle_rules.py`, once per "
        "program run) and the CrossGuard pack (once per policy text). The component "
        "(`infra/registry.py`) calls neither: it passes the policy the settings rendered "
        "(`args.lifecycle.policy_json`) on to `aws.ecr.LifecyclePolicy`."
    ) in row
