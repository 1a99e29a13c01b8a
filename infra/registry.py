"""RetailRegistry: the ECR repository, its policies, and the API image — pushed only when new."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra.access_policy import repository_policy
from infra.aws_session import AwsSession
from infra.aws_types import EcrTarget
from infra.config import RetailRegistryArgs, resource_tags, tag_is_immutable
from infra.deployed.tagging import preview_window, shield_deployed
from infra.held_image import HeldImageError, check_held_content, read_held_image
from infra.image_sbom.deploy import sbom_output
from infra.image_tag import BuildPlan, build_plan
from infra.multiarch.deploy import (
    PlatformImages,
    build_platforms,
    platform_digests,
    platform_sboms,
)
from infra.promotion.deploy import promote
from infra.promotion.provider import RegistryCopy
from infra.registry_lookup import (
    ImageSource,
    RegistryContents,
    choose_source,
    digest_of,
    look_up,
)
from infra.scan_gate.deploy import gate_image

COMPONENT_TYPE = "retail:infra:RetailRegistry"
# BuildKit writes cache metadata into the pushed image with this build arg, which is what lets
# a later build on an empty machine reuse its layers through `cache_from`.
INLINE_CACHE_ARG = {"BUILDKIT_INLINE_CACHE": "1"}


class RetailRegistry(pulumi.ComponentResource):
    """A private ECR repository for the retail API, and the API image in it, by gated digest."""

    repository: aws.ecr.Repository
    lifecycle_policy: aws.ecr.LifecyclePolicy
    repository_policy: aws.ecr.RepositoryPolicy | None
    image: docker.Image | None
    """The build; None when ECR already holds the content tag (nothing to build or push)."""
    promotion: RegistryCopy | None
    """With `promoteFrom`: the copy of the source stack's gated image (infra/promotion)."""
    image_tag: str | pulumi.Output[str]
    image_uri: pulumi.Output[str]
    image_digest: pulumi.Output[str]
    """The digest, resolved only after the scan gate passed."""
    image_ref: pulumi.Output[str]
    image_scan: pulumi.Output[dict[str, Any]]
    image_sbom_sha256: pulumi.Output[str]
    """sha256 hex of /app/sbom.cdx.json in the gated image, read from ECR; unknown in preview."""
    platform_images: PlatformImages | None
    """With two or more `imagePlatforms`: the per-platform builds and their index."""
    image_platform_digests: pulumi.Output[dict[str, str]]
    """platform -> the gated image of that platform (the index's child, or the image itself)."""
    image_platform_sbom_sha256: pulumi.Output[Mapping[str, str]]
    """platform -> the SBOM hash of that platform's image (the first is imageSbomSha256)."""
    pull_time_exclusions: list[aws.ecr.PullTimeUpdateExclusion]
    """Account-wide: declared only by the stack that owns them, while a rule reads pull times."""

    def __init__(
        self, name: str, args: RetailRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        # Everything that can fail on its own (build inputs, the registry lookup) runs before
        # the first resource is declared, so a failure leaves nothing half-applied.
        # The one AWS session for every call the provider cannot make (scan, SBOM, labels).
        session = AwsSession(args.aws)
        plan = _plan(args)
        lookup_opts = pulumi.InvokeOptions(parent=self)
        contents, source = _source(args, plan, lookup_opts)
        if not args.promote_from and source.existing_digest and plan.tag != plan.content_tag:
            _check_held_image(session, args, plan, source.existing_digest, lookup_opts)
        self.repository = self._repository(name, args)
        self.lifecycle_policy = aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=args.lifecycle.policy_json,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_policy = self._repository_policy(name, args)
        self.pull_time_exclusions = self._pull_time_exclusions(name, args)

        url = self.repository.repository_url
        if args.promote_from:
            # Build nothing: the source stack's gated image, copied here by digest and gated.
            self.image = None
            self.platform_images = None
            promoted = promote(name, args, self.repository, session, parent=self)
            self.promotion, self.image_tag, gated = promoted
        else:
            self.promotion = None
            self.image_tag = plan.tag
            if len(plan.platforms) > 1:
                # One build per platform, then an image index under the tag (infra/multiarch).
                self.image = None
                self.platform_images = build_platforms(
                    name,
                    plan,
                    contents,
                    source,
                    reusable=plan.tag == plan.content_tag
                    or tag_is_immutable(plan.tag, args.tag_mutability, args.mutable_tags),
                    build_one=self._image,
                    repository=self.repository,
                    aws_config=args.aws,
                    parent=self,
                )
                pushed_digest, fresh = self.platform_images.digest, self.platform_images.fresh_push
            else:
                self.platform_images = None
                self.image, pushed_digest = self._image(name, plan, source)
                fresh = self.image is not None
            # ECR scans images, not an index: the gate judges every platform's image.
            gated = gate_image(
                self.repository.arn,
                pushed_digest,
                args.scan_policy,
                session=session,
                platforms=args.image_platforms,
                fresh_push=fresh,
            )
        self.image_uri = pulumi.Output.concat(url, ":", self.image_tag)
        # The lifecycle shield keeps deployed-* images; only a gated digest joins the window,
        # and the outputs resolve once it carries its tag (infra/deployed).
        tags = contents.tags_by_digest()
        if pulumi.runtime.is_dry_run():
            preview_window(tags, source.existing_digest, args.keep_deployed)
            shielded = gated.digest
        else:
            moved = shield_deployed(
                session, self.repository.arn, gated.digest, tags, args.keep_deployed
            )
            shielded = pulumi.Output.all(gated.digest, moved).apply(lambda done: str(done[0]))
        self.image_digest = shielded
        self.image_ref = pulumi.Output.concat(url, "@", shielded)
        self.image_scan = gated.image_scan
        # From the gated digest, so it is read only for an image the gate let through.
        self.image_sbom_sha256 = sbom_output(
            self.repository.arn, gated.digest, args.image_platform, session=session
        )
        self.image_platform_digests = platform_digests(
            self.repository.arn, gated.digest, args.image_platforms, session=session
        )
        self.image_platform_sbom_sha256 = platform_sboms(
            self.repository.arn,
            gated.digest,
            args.image_platforms,
            self.image_sbom_sha256,
            session=session,
        )
        self.register_outputs(
            {
                "repository": self.repository,
                "lifecyclePolicy": self.lifecycle_policy,
                "repositoryPolicy": self.repository_policy,
                "pullTimeExclusions": self.pull_time_exclusions,
                "image": self.image,
                "promotion": self.promotion,
                "imageTag": self.image_tag,
                "imageUri": self.image_uri,
                "imageDigest": self.image_digest,
                "imageRef": self.image_ref,
                "imageScan": self.image_scan,
                "imageSbomSha256": self.image_sbom_sha256,
                "platformImages": self.platform_images and self.platform_images.index,
                "imagePlatformDigests": self.image_platform_digests,
                "imagePlatformSbomSha256": self.image_platform_sbom_sha256,
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

    def _pull_time_exclusions(
        self, name: str, args: RetailRegistryArgs
    ) -> list[aws.ecr.PullTimeUpdateExclusion]:
        """ECR records a pull for every principal but Amazon Inspector
        (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-time-update-exclusions.html):
        the deploy role's own reads (scan gate, SBOM, tagging) would keep every image "pulled".
        Exclusions are account-wide, so only the stack with managePullTimeExclusions owns them,
        and only while a rule reads pull times."""
        if not args.manage_pull_time_exclusions or not any(
            rule.count_type == "sinceImagePulled" for rule in args.lifecycle.rules
        ):
            return []
        principals = args.pull_time_excluded_principals or args.push_principals
        return [
            aws.ecr.PullTimeUpdateExclusion(
                f"{name}-pull-exclusion-{arn.rsplit('/', 1)[-1].lower()}",
                principal_arn=arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for arn in principals
        ]

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

    def _image(
        self, name: str, plan: BuildPlan, source: ImageSource
    ) -> tuple[docker.Image | None, pulumi.Output[str]]:
        """Look before you build: the registry's digest for a tag it holds, else a build.

        Without a `docker.Image` in the program, Pulumi drops any earlier one from the state;
        pulumi-docker's Delete is a no-op, so nothing in ECR changes (docs/deploying.md)."""
        if source.existing_digest is not None:
            return None, pulumi.Output.from_input(source.existing_digest)
        url = self.repository.repository_url
        cache = None
        if source.cache_digest is not None:
            cache = docker.CacheFromArgs(
                images=[pulumi.Output.concat(url, "@", source.cache_digest)]
            )
        # Fetched on every run and never stored in config: the token lives 12 hours.
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(url, ":", plan.tag),
            build=docker.DockerBuildArgs(
                # Relative to the project root (Pulumi's working directory), so the state does
                # not differ between a laptop and a CI runner.
                context=plan.context,
                dockerfile=plan.dockerfile,
                platform=plan.platform,
                args={**plan.build_args, **INLINE_CACHE_ARG},
                cache_from=cache,
                # Stated, not left to the default: only BuildKit reads the inline cache, and
                # the final stage's cache alone skips the builder stage's pip install
                # (tests/container/test_build_cache.py; the classic builder would need the
                # builder stage pushed too).
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            registry=docker.RegistryArgs(
                server=token.proxy_endpoint,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # pulumi-docker reports `<repository>@sha256:…`; the digest is what EKS pins.
        return image, image.repo_digest.apply(digest_of)


def _plan(args: RetailRegistryArgs) -> BuildPlan:
    try:
        return build_plan(args.build_context, args.dockerfile, args.image_platforms, args.image_tag)
    except ValueError as error:
        # An unpinned base or unreadable build input: one line, no traceback.
        raise pulumi.RunError(str(error)) from None


def _source(
    args: RetailRegistryArgs, plan: BuildPlan, opts: pulumi.InvokeOptions
) -> tuple[RegistryContents, ImageSource]:
    """What ECR holds, and where the image comes from: a tag ECR holds, or a build."""
    try:
        contents = look_up(args.repository_name, opts)
    except Exception as error:  # an invoke failure arrives as a bare Exception
        raise pulumi.RunError(
            f"registry lookup for {args.repository_name} failed (the deploying role needs "
            f"ecr:DescribeRepositories, ecr:ListImages, ecr:DescribeImages): {error}"
        ) from None
    # A content tag names one content; an immutable tag can hold only what it holds. Any
    # other tag (a mutable override) is pushed again, as its owner asked for.
    reusable = plan.tag == plan.content_tag or tag_is_immutable(
        plan.tag, args.tag_mutability, args.mutable_tags
    )
    return contents, choose_source(plan.tag, contents, reusable=reusable)


def _check_held_image(
    session: AwsSession,
    args: RetailRegistryArgs,
    plan: BuildPlan,
    digest: str,
    opts: pulumi.InvokeOptions,
) -> None:
    """Refuse to deploy an `imageTag` override that ECR holds with other content."""
    try:
        repository = aws.ecr.get_repository(name=args.repository_name, opts=opts)
        target = EcrTarget.from_arn(repository.arn)
        held = read_held_image(session, target, plan.tag, digest, args.image_platform)
        check_held_content(held, plan.content_tag, args.accept_unlabelled_digest)
    except HeldImageError as error:
        raise pulumi.RunError(str(error)) from None
