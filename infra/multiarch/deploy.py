"""The program side of a multi-platform image: one build per platform, then the index.

Decided from what the registry lookup found before anything is declared: when ECR holds the
index's tag, nothing is built or published (the tag names its content); a child tag ECR
holds is reused (a run that failed between the builds and the index), every other child is
built and pushed by its own pulumi-docker `Image`. The index goes through the registry API
(`provider.ImageIndex`) because pulumi-docker 4 builds and pushes one platform per `Image`
and has no index resource (docs/image.md, "Multi-platform images").
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra.aws_config import AwsConfig
from infra.aws_session import AwsSession
from infra.aws_types import EcrTarget
from infra.image_sbom.deploy import sbom_output
from infra.image_tag import BuildPlan
from infra.multiarch.platforms import arch_suffix, child_tag
from infra.multiarch.provider import ImageIndex
from infra.oci import ManifestError, accepted_media_types, is_index, parse_json, platform_children
from infra.promotion.auth import aws_config_document
from infra.registry_lookup import ImageSource, RegistryContents, choose_source

# (resource name, the child's plan, where it comes from) -> (the Image or None, its digest).
BuildOne = Callable[[str, BuildPlan, ImageSource], tuple[docker.Image | None, pulumi.Output[str]]]


@dataclass(frozen=True)
class PlatformImages:
    """What the multi-platform branch declared, and the index digest to gate."""

    images: dict[str, docker.Image]
    """platform -> the build declared this run (a reused child has none)."""
    index: ImageIndex | None
    """None when ECR already holds the index's tag."""
    digest: pulumi.Output[str]
    """The index digest: ECR's for a tag it holds, else the one the index resource published."""

    @property
    def fresh_push(self) -> bool:
        return self.index is not None


def child_plan(plan: BuildPlan, platform: str) -> BuildPlan:
    """One platform's build: its own child tag, the index's build args (the revision label
    carries the index's content tag, which a held-image check compares)."""
    return dataclasses.replace(
        plan, tag=child_tag(plan.tag, platform), platform=platform, platforms=(platform,)
    )


def build_platforms(
    name: str,
    plan: BuildPlan,
    contents: RegistryContents,
    source: ImageSource,
    *,
    reusable: bool,
    build_one: BuildOne,
    repository: aws.ecr.Repository,
    aws_config: AwsConfig,
    parent: pulumi.Resource,
) -> PlatformImages:
    """One build per platform of `plan.platforms` and the index of them under `plan.tag`."""
    if source.existing_digest is not None:
        return PlatformImages({}, None, pulumi.Output.from_input(source.existing_digest))
    images: dict[str, docker.Image] = {}
    children: list[pulumi.Output[dict[str, str]]] = []
    for platform in plan.platforms:
        child = child_plan(plan, platform)
        child_source = choose_source(child.tag, contents, reusable=reusable)
        image, digest = build_one(f"{name}-{arch_suffix(platform)}", child, child_source)
        if image is not None:
            images[platform] = image
        children.append(digest.apply(_entry(platform)))
    # The stack's `aws:` settings, as a promotion passes them: the token is fetched inside the
    # resource's create, never stored.
    credentials = json.dumps({"aws": aws_config_document(aws_config)}, sort_keys=True)
    index = ImageIndex(
        f"{name}-index",
        destination=pulumi.Output.concat(repository.repository_url, ":", plan.tag),
        children=pulumi.Output.all(*children),
        credentials=pulumi.Output.secret(credentials),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return PlatformImages(images, index, index.digest)


def _entry(platform: str) -> Callable[[str], dict[str, str]]:
    def entry(digest: str) -> dict[str, str]:
        return {"platform": platform, "digest": digest}

    return entry


def read_platform_digests(
    session: AwsSession, target: EcrTarget, digest: str, platforms: Sequence[str]
) -> dict[str, str]:
    """Blocking: platform -> child digest of the index `digest`, read from ECR."""
    raw = session.manifest(target, digest, list(accepted_media_types()))
    manifest = parse_json(raw, f"manifest {digest}")
    if not is_index(manifest):
        raise ManifestError(
            f"manifest {digest}: one image, not an index of {', '.join(platforms)}; a tag "
            "built for one platform cannot serve imagePlatforms"
        )
    return platform_children(manifest, platforms)


def platform_digests(
    repository_arn: pulumi.Input[str],
    digest: pulumi.Input[str],
    platforms: Sequence[str],
    *,
    session: AwsSession,
) -> pulumi.Output[dict[str, str]]:
    """`imagePlatformDigests` for the gated `digest`: {platform: digest} for one platform (the
    image itself), the index's children for several."""
    if len(platforms) == 1:
        return pulumi.Output.from_input(digest).apply(lambda d: {platforms[0]: str(d)})

    async def run(args: list[Any]) -> dict[str, str]:
        arn, image_digest = str(args[0]), str(args[1])
        try:
            target = EcrTarget.from_arn(arn)
            return await asyncio.to_thread(
                read_platform_digests, session, target, image_digest, platforms
            )
        except Exception as exc:
            # Any cause (a denied call, a broken index) becomes one line naming the digest.
            detail = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            raise pulumi.RunError(f"imagePlatformDigests: image {image_digest}: {detail}") from None

    return pulumi.Output.all(repository_arn, digest).apply(run)


def platform_sboms(
    repository_arn: pulumi.Input[str],
    digest: pulumi.Input[str],
    platforms: Sequence[str],
    default: pulumi.Output[str],
    *,
    session: AwsSession,
) -> pulumi.Output[Mapping[str, str]]:
    """platform -> the SBOM hash of its image; the first platform's is `default`
    (`imageSbomSha256`), read once."""
    hashes: dict[str, pulumi.Output[str]] = {platforms[0]: default}
    for platform in platforms[1:]:
        hashes[platform] = sbom_output(repository_arn, digest, platform, session=session)
    return pulumi.Output.all(**hashes)
