"""EKS consumer example: reads the retail-registry stack and renders the API Deployment.

Kept dependency-free (no pulumi-kubernetes): the manifest is exported as a dict. To apply it,
add pulumi-kubernetes and pass the dict to `kubernetes.yaml.v2.ConfigGroup(objs=[...])`.
"""

import pulumi
from manifest import build_deployment, node_pull_policy

config = pulumi.Config()
# Fully qualified name of the registry stack, e.g. "acme/retail-registry/prod".
registry = pulumi.StackReference("retail-registry", stack_name=config.require("registryStack"))
namespace = config.get("namespace") or "retail"
configured_replicas = config.get_int("replicas")
# `or 2` would turn an explicit 0 into 2; 0 must reach the builder and be refused there.
replicas = 2 if configured_replicas is None else configured_replicas

image_ref = registry.require_output("imageRef")
region = registry.require_output("region")
repository_arn = registry.require_output("repositoryArn")

deployment = pulumi.Output.all(image_ref, region).apply(
    lambda values: build_deployment(values[0], values[1], namespace=namespace, replicas=replicas)
)
pull_policy = repository_arn.apply(node_pull_policy)

pulumi.export("deploymentManifest", deployment)
pulumi.export("nodePullPolicy", pull_policy)
pulumi.export("imageRef", image_ref)
pulumi.export("region", region)
