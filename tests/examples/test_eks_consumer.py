"""The EKS consumer example: its pure builders, and the program under Pulumi mocks."""

from __future__ import annotations

import importlib.util
import runpy
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, cast

import pulumi
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "eks-consumer"
DIGEST = "sha256:" + "ab" * 32
URL = "842676018087.dkr.ecr.ap-southeast-1.amazonaws.com/mlops/retail-api"
ARN = "arn:aws:ecr:ap-southeast-1:842676018087:repository/mlops/retail-api"
REGISTRY_OUTPUTS = {
    "repositoryName": "mlops/retail-api",
    "repositoryUrl": URL,
    "repositoryArn": ARN,
    "registryId": "842676018087",
    "region": "ap-southeast-1",
    "imageTag": "1.4.0",
    "imageUri": f"{URL}:1.4.0",
    "imageDigest": DIGEST,
    "imageRef": f"{URL}@{DIGEST}",
}


F = TypeVar("F", bound=Callable[..., Any])


def pulumi_test(fn: F) -> F:
    """pulumi.runtime.test (awaits the returned Output), typed for mypy --strict."""
    return cast(Callable[[F], F], pulumi.runtime.test)(fn)


def _load_manifest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eks_consumer_manifest", EXAMPLE / "manifest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


manifest = _load_manifest()


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def assert_deployment_contract(deployment: dict[str, Any], image_ref: str) -> None:
    """What the issue asks of the rendered Deployment."""
    assert (deployment["apiVersion"], deployment["kind"]) == ("apps/v1", "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    assert container["image"] == image_ref
    assert "@sha256:" in container["image"]
    for context in (pod["securityContext"], container["securityContext"]):
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_builder_renders_the_contract() -> None:
    deployment = manifest.build_deployment(REGISTRY_OUTPUTS["imageRef"], "ap-southeast-1")
    assert_deployment_contract(deployment, REGISTRY_OUTPUTS["imageRef"])
    assert deployment["metadata"]["namespace"] == "retail"
    assert deployment["spec"]["replicas"] == 2


@pytest.mark.parametrize(
    "image_ref",
    [
        f"{URL}:1.4.0",  # by tag: a moving target
        f"{URL}@sha256:abc",  # truncated digest
        f"docker.io/library/retail-api@{DIGEST}",  # not ECR
        f"{URL}:1.4.0@{DIGEST}",  # tag+digest: ambiguous about which one is deployed
        42,
    ],
)
def test_builder_rejects_anything_but_an_ecr_digest_ref(image_ref: Any) -> None:
    with pytest.raises(ValueError, match=r"^imageRef: "):
        manifest.build_deployment(image_ref, "ap-southeast-1")


def test_builder_rejects_outputs_from_different_regions() -> None:
    with pytest.raises(ValueError, match=r"^region: 'us-east-1' does not match"):
        manifest.build_deployment(REGISTRY_OUTPUTS["imageRef"], "us-east-1")


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("replicas", {"replicas": 0}),
        ("replicas", {"replicas": True}),
        ("namespace", {"namespace": "Retail_NS"}),
        ("name", {"name": "-api"}),
    ],
)
def test_builder_names_the_bad_setting(field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        manifest.build_deployment(REGISTRY_OUTPUTS["imageRef"], "ap-southeast-1", **kwargs)


def test_node_pull_policy_is_scoped_to_the_repository() -> None:
    policy = manifest.node_pull_policy(ARN)
    pull, login = policy["Statement"]
    assert pull["Resource"] == ARN
    assert sorted(pull["Action"]) == sorted(manifest.PULL_ACTIONS)
    assert all(not a.endswith("*") for a in pull["Action"])
    assert login == {
        "Sid": "EcrLogin",
        "Effect": "Allow",
        "Action": "ecr:GetAuthorizationToken",
        "Resource": "*",
    }
    with pytest.raises(ValueError, match=r"^repositoryArn: "):
        manifest.node_pull_policy("arn:aws:s3:::bucket")


class RegistryMocks(pulumi.runtime.Mocks):
    """Answers the StackReference with retail-registry's outputs; records what was created."""

    def __init__(self, outputs: dict[str, Any]) -> None:
        self.outputs = outputs
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        self.created.append(args)
        if args.typ == "pulumi:pulumi:StackReference":
            state = {"name": args.inputs["name"], "outputs": self.outputs, "secretOutputNames": []}
            return args.inputs["name"], state
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def run_program() -> Iterator[Any]:
    """Runs examples/eks-consumer under fresh mocks; returns (program globals, mocks)."""
    saved_manifest = sys.modules.pop("manifest", None)

    def run(
        outputs: dict[str, Any], config: dict[str, str]
    ) -> tuple[dict[str, Any], RegistryMocks]:
        mocks = RegistryMocks(outputs)
        pulumi.runtime.set_mocks(mocks, project="retail-eks-consumer", stack="dev", preview=False)
        pulumi.runtime.set_all_config({f"retail-eks-consumer:{k}": v for k, v in config.items()})
        return runpy.run_path(str(EXAMPLE), run_name="__main__"), mocks

    try:
        yield run
    finally:
        pulumi.runtime.set_all_config({})
        sys.modules.pop("manifest", None)
        if saved_manifest is not None:
            sys.modules["manifest"] = saved_manifest


@pulumi_test
def test_program_renders_deployment_from_the_stack_reference(run_program: Any) -> Any:
    program, mocks = run_program(
        REGISTRY_OUTPUTS, {"registryStack": "acme/retail-registry/prod", "replicas": "3"}
    )

    def check(values: list[Any]) -> None:
        deployment, pull_policy = values
        assert_deployment_contract(deployment, REGISTRY_OUTPUTS["imageRef"])
        assert deployment["spec"]["replicas"] == 3
        assert pull_policy["Statement"][0]["Resource"] == ARN
        [reference] = [r for r in mocks.created if r.typ == "pulumi:pulumi:StackReference"]
        assert reference.inputs["name"] == "acme/retail-registry/prod"

    return pulumi.Output.all(program["deployment"], program["pull_policy"]).apply(check)


def test_program_requires_the_registry_stack_name(run_program: Any) -> None:
    with pytest.raises(pulumi.ConfigMissingError, match="registryStack"):
        run_program(REGISTRY_OUTPUTS, {})


def test_program_fails_on_a_tag_only_image_ref(run_program: Any) -> None:
    outputs = {**REGISTRY_OUTPUTS, "imageRef": REGISTRY_OUTPUTS["imageUri"]}

    @pulumi_test
    def deploy() -> Any:
        program, _ = run_program(outputs, {"registryStack": "acme/retail-registry/prod"})
        return program["deployment"]

    with pytest.raises(ValueError, match=r"^imageRef: .*pinned by digest"):
        deploy()
