"""retail-registry: a private ECR repository and the retail API image, pushed by digest.

Read the stack's settings, declare the registry component, export the contract the EKS
project reads (README, "Stack outputs").
"""

import pulumi

from infra.config.pulumi_reader import read_args
from infra.registry import RetailRegistry

args = read_args()
registry = RetailRegistry("retail-api", args)

pulumi.export("repositoryName", registry.repository.name)
pulumi.export("repositoryUrl", registry.repository.repository_url)
pulumi.export("repositoryArn", registry.repository.arn)
pulumi.export("registryId", registry.repository.registry_id)
pulumi.export("region", registry.repository.region)
pulumi.export("imageTag", registry.image_tag)
pulumi.export("imageUri", registry.image_uri)
pulumi.export("imageDigest", registry.image_digest)
pulumi.export("imageRef", registry.image_ref)
pulumi.export("imageScan", registry.image_scan)
pulumi.export("imageSbomSha256", registry.image_sbom_sha256)
pulumi.export("imagePlatformDigests", registry.image_platform_digests)
