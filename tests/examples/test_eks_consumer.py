"""examples/eks-consumer/__main__.py under Pulumi mocks: stack outputs in, manifests out.

The StackReference answers with a retail-registry stack's outputs; every object the program
renders is checked against the Kubernetes schemas (conftest.KUBERNETES_VERSIONS).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

Validate = Callable[[dict[str, Any]], None]
# conftest's run_program: (stack outputs, config) -> run with .values and .created.
RunProgram = Callable[[dict[str, Any], dict[str, str]], Any]
STACK = "acme/retail-registry/prod"


def _by_kind(run_values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    listing = run_values["manifest_list"]
    assert (listing["apiVersion"], listing["kind"]) == ("v1", "List")
    return {item["kind"]: item for item in listing["items"]}


def _workers(deployment: dict[str, Any]) -> str:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [workers] = [e["value"] for e in container["env"] if e["name"] == "WORKERS"]
    assert isinstance(workers, str)
    return workers


def test_program_renders_every_object_from_the_stack_reference(
    run_program: RunProgram, registry_outputs: dict[str, str], assert_valid_kubernetes: Validate
) -> None:
    run = run_program(
        registry_outputs,
        {
            "registryStack": STACK,
            "namespace": "shop",
            "replicas": "3",
            "maxReplicas": "12",
            "targetRequestsPerPod": "4000",
        },
    )
    objects = _by_kind(run.values)
    assert list(objects) == [
        "Deployment",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
    ]
    for document in objects.values():
        assert_valid_kubernetes(document)
        assert document["metadata"]["namespace"] == "shop"
    deployment = objects["Deployment"]
    assert run.values["deployment"] == deployment
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == registry_outputs["imageRef"]
    # 4,000 req/s at 1,960 per worker (70 % of 2,800): 3 workers.
    assert _workers(deployment) == "3"
    autoscaler = objects["HorizontalPodAutoscaler"]["spec"]
    assert (autoscaler["minReplicas"], autoscaler["maxReplicas"]) == (3, 12)
    assert (
        run.values["pull_policy"]["Statement"][0]["Resource"] == registry_outputs["repositoryArn"]
    )
    [reference] = [r for r in run.created if r.typ == "pulumi:pulumi:StackReference"]
    assert reference.inputs["name"] == STACK


@pytest.fixture
def project_defaults(example_dir: Path) -> dict[str, str]:
    """Pulumi.yaml's config defaults, as strings the way `pulumi config` hands them over."""
    project = yaml.safe_load((example_dir / "Pulumi.yaml").read_text(encoding="utf-8"))
    return {k: str(v["default"]) for k, v in project["config"].items() if "default" in v}


def test_pulumi_yaml_declares_the_documented_defaults(project_defaults: dict[str, str]) -> None:
    # 1,960 = 70 % of one worker's 2,800 req/s (sizing.py's figures).
    assert project_defaults == {
        "namespace": "retail",
        "replicas": "2",
        "maxReplicas": "10",
        "targetRequestsPerPod": "1960",
    }


def test_unset_config_renders_what_pulumi_yaml_defaults_render(
    run_program: RunProgram, registry_outputs: dict[str, str], project_defaults: dict[str, str]
) -> None:
    """Tests leave config unset; `pulumi up` fills in Pulumi.yaml's defaults. Same result."""
    unset = _by_kind(run_program(registry_outputs, {"registryStack": STACK}).values)
    defaults = {"registryStack": STACK, **project_defaults}
    from_yaml = _by_kind(run_program(registry_outputs, defaults).values)
    assert unset == from_yaml
    assert _workers(unset["Deployment"]) == "1"
    spec = unset["HorizontalPodAutoscaler"]["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)


def test_program_requires_the_registry_stack_name(
    run_program: RunProgram, registry_outputs: dict[str, str]
) -> None:
    with pytest.raises(pulumi.ConfigMissingError, match="registryStack"):
        run_program(registry_outputs, {})


def test_program_fails_on_a_tag_only_image_ref(
    run_program: RunProgram, registry_outputs: dict[str, str]
) -> None:
    outputs = {**registry_outputs, "imageRef": registry_outputs["imageUri"]}
    with pytest.raises(pulumi.RunError, match=r"^imageRef: .*pinned by digest"):
        run_program(outputs, {"registryStack": STACK})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"replicas": "0"}, r"^replicas: must be an integer >= 1, got 0$"),
        ({"replicas": "5", "maxReplicas": "4"}, r"^maxReplicas: must be >= replicas \(5\)"),
        ({"targetRequestsPerPod": "0"}, r"^targetRequestsPerPod: must be an integer >= 1"),
    ],
)
def test_program_names_the_bad_config_key(
    run_program: RunProgram, registry_outputs: dict[str, str], config: dict[str, str], message: str
) -> None:
    with pytest.raises(pulumi.RunError, match=message):
        run_program(registry_outputs, {"registryStack": STACK, **config})


def test_program_fails_on_a_repository_arn_of_another_service(
    run_program: RunProgram, registry_outputs: dict[str, str]
) -> None:
    outputs = {**registry_outputs, "repositoryArn": "arn:aws:s3:::retail-api"}
    with pytest.raises(pulumi.RunError, match=r"^repositoryArn: must be 'arn:aws:ecr:"):
        run_program(outputs, {"registryStack": STACK})
