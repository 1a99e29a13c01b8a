"""RetailRegistry: the ECR repository, its policies, and the API image built and pushed into it."""

from __future__ import annotations

import json
import os

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra.access_policy import repository_policy
from infra.config import RetailRegistryArgs, resource_tags
from infra.image_tag import build_plan
from infra.paths import PROJECT_ROOT
from infra.registry_lookup import digest_of

COMPONENT_TYPE = "retail:infra:RetailRegistry"


class RetailRegistry(pulumi.ComponentResource):
    """A private ECR repository for the retail API, and the API image pushed into it by digest."""

    repository: aws.ecr.Repository
    lifecycle_policy: aws.ecr.LifecyclePolicy
    repository_policy: aws.ecr.RepositoryPolicy | None
    image: docker.Image
    image_tag: str
    image_uri: pulumi.Output[str]
    image_digest: pulumi.Output[str]
    image_ref: pulumi.Output[str]

    def __init__(
        self, name: str, args: RetailRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self.repository = self._repository(name, args)
        self.lifecycle_policy = aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=args.lifecycle.policy_json,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_policy = self._repository_policy(name, args)
        self.image, self.image_tag = self._image(name, args)

        url = self.repository.repository_url
        self.image_uri = pulumi.Output.concat(url, ":", self.image_tag)
        # pulumi-docker reports `<repository>@sha256:…`; the digest is what EKS pins.
        self.image_digest = self.image.repo_digest.apply(digest_of)
        self.image_ref = pulumi.Output.concat(url, "@", self.image_digest)
        self.register_outputs(
            {
                "repository": self.repository,
                "lifecyclePolicy": self.lifecycle_policy,
                "repositoryPolicy": self.repository_policy,
                "image": self.image,
                "imageTag": self.image_tag,
                "imageUri": self.image_uri,
                "imageDigest": self.image_digest,
                "imageRef": self.image_ref,
            }
        )

    def _repository(self, name: str, args: RetailRegistryArgs) -> aws.ecr.Repository:
        exclusion_filters = [
            aws.ecr.RepositoryImageTagMutabilityExclusionFilterArgs(
                filter=pattern, filter_type="WILDCARD"
            )
            for pattern in args.mutable_tags
        ]
        encryption = aws.ecr.RepositoryEncryptionConfigurationArgs(
            encryption_type="KMS" if args.kms_key_arn else "AES256",
            kms_key=args.kms_key_arn,
        )
        return aws.ecr.Repository(
            f"{name}-repo",
            name=args.repository_name,
            image_tag_mutability=args.tag_mutability,
            image_tag_mutability_exclusion_filters=exclusion_filters or None,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=args.scan_on_push
            ),
            encryption_configurations=[encryption],
            force_delete=args.force_delete,
            tags=resource_tags(args.stack),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

    def _repository_policy(
        self, name: str, args: RetailRegistryArgs
    ) -> aws.ecr.RepositoryPolicy | None:
        document = repository_policy(
            pull_principals=args.pull_principals,
            push_principals=args.push_principals,
            pull_organization_ids=args.pull_organization_ids,
        )
        if document is None:
            return None
        return aws.ecr.RepositoryPolicy(
            f"{name}-policy",
            repository=self.repository.name,
            policy=json.dumps(document, sort_keys=True),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _image(self, name: str, args: RetailRegistryArgs) -> tuple[docker.Image, str]:
        plan = build_plan(args.build_context, args.dockerfile, args.image_platform, args.image_tag)
        # Fetched on every run and never stored in config: the token lives 12 hours.
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(self.repository.repository_url, ":", plan.tag),
            build=docker.DockerBuildArgs(
                # Relative to the project root (Pulumi's working directory), so the state does
                # not differ between a laptop and a CI runner.
                context=os.path.relpath(args.build_context, PROJECT_ROOT),
                dockerfile=os.path.relpath(args.dockerfile, PROJECT_ROOT),
                platform=args.image_platform,
                args=plan.build_args,
            ),
            registry=docker.RegistryArgs(
                server=token.proxy_endpoint,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return image, plan.tag
