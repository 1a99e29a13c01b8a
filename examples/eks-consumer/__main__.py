"""EKS consumer example: reads the retail-registry stack and renders the API's Kubernetes objects.

Kept dependency-free (no pulumi-kubernetes): the manifests are exported as dicts. To apply them,
add pulumi-kubernetes and pass the list to `kubernetes.yaml.v2.ConfigGroup(objs=[...])`.
`render.py` prints the same objects as YAML for a given imageRef, without Pulumi.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import pulumi
from manifest import build_manifests
from pull_policy import node_pull_policy

T = TypeVar("T")


def one_line(build: Callable[..., T]) -> Callable[..., T]:
    """A builder's ValueError (it names the output or key) ends the update as that message
    alone: pulumi.RunError is reported without a traceback."""

    def run(*args: Any) -> T:
        try:
            return build(*args)
        except ValueError as error:
            raise pulumi.RunError(str(error)) from None

    return run


config = pulumi.Config()
# Fully qualified name of the registry stack, e.g. "acme/retail-registry/prod".
registry = pulumi.StackReference("retail-registry", stack_name=config.require("registryStack"))
namespace = config.get("namespace") or "retail"
# `or <default>` would turn an explicit 0 into the default; 0 must reach the builder and be
# refused there, naming the key.
configured_replicas = config.get_int("replicas")
replicas = 2 if configured_replicas is None else configured_replicas
configured_max = config.get_int("maxReplicas")
max_replicas = 10 if configured_max is None else configured_max
# None: the figure sizing.py derives from the benchmark.
target_rps_per_pod = config.get_int("targetRequestsPerPod")

image_ref = registry.require_output("imageRef")
region = registry.require_output("region")
repository_arn = registry.require_output("repositoryArn")

manifests = pulumi.Output.all(image_ref, region).apply(
    one_line(
        lambda values: build_manifests(
            values[0],
            values[1],
            namespace=namespace,
            replicas=replicas,
            max_replicas=max_replicas,
            target_rps_per_pod=target_rps_per_pod,
        )
    )
)
deployment = manifests.apply(lambda objects: objects[0])
pull_policy = repository_arn.apply(one_line(node_pull_policy))

# A v1 List, so `kubectl apply -f` takes the exported JSON as it is.
manifest_list = manifests.apply(lambda items: {"apiVersion": "v1", "kind": "List", "items": items})

pulumi.export("manifests", manifest_list)
pulumi.export("deploymentManifest", deployment)
pulumi.export("nodePullPolicy", pull_policy)
pulumi.export("imageRef", image_ref)
pulumi.export("region", region)
