"""What the registry already holds, asked through the stack's own AWS provider.

Before it declares a build, the component looks the content tag up in ECR with pulumi-aws
invokes (`aws.ecr.get_repositories`, `get_images`, `get_image`), so the lookup uses the stack's
provider, region and `allowedAccountIds` — never boto3's ambient credentials. A tag ECR already
has is never built or pushed again (an immutable repository would refuse the push); the newest
image found seeds the build cache instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.oci import is_digest


@dataclass(frozen=True)
class RegistryContents:
    """The repository as the lookup found it."""

    repository_exists: bool
    """False on a first deploy: the repository is declared in this same run."""
    digests_by_tag: dict[str, str] = field(default_factory=dict)
    """Every tag in the repository and the manifest digest it points at."""
    newest_digest: str | None = None
    """The most recently pushed image, the build cache's source; None for an empty repository."""

    def tags_by_digest(self) -> dict[str, list[str]]:
        """Every tagged digest and its tags (the inverse of `digests_by_tag`)."""
        found: dict[str, list[str]] = {}
        for tag, digest in self.digests_by_tag.items():
            found.setdefault(digest, []).append(tag)
        return found


@dataclass(frozen=True)
class ImageSource:
    """Where `imageDigest` comes from: the registry (`existing_digest`) or a build."""

    existing_digest: str | None
    """The registry's digest for the tag; None means build and push."""
    cache_digest: str | None
    """When building: the repository's image whose layers the build may reuse."""


def choose_source(tag: str, contents: RegistryContents, *, reusable: bool = True) -> ImageSource:
    """Pure: reuse the tag's digest when ECR has it, else build, warmed by the newest image.

    `reusable=False` is for a tag that may move (a mutable override such as `latest`): what ECR
    holds under it says nothing about this commit's content, so it is built and pushed."""
    existing = contents.digests_by_tag.get(tag) if reusable else None
    if existing is not None:
        return ImageSource(existing_digest=existing, cache_digest=None)
    return ImageSource(existing_digest=None, cache_digest=contents.newest_digest)


def look_up(repository_name: str, opts: pulumi.InvokeOptions) -> RegistryContents:
    """Ask ECR (through the stack's provider) what `repository_name` holds.

    Listing the repositories first keeps a first deploy free of errors: `get_images` on a
    repository that does not exist yet would fail the run."""
    names = aws.ecr.get_repositories(opts=opts).names or []
    if repository_name not in names:
        return RegistryContents(repository_exists=False)
    image_ids = aws.ecr.get_images(repository_name=repository_name, opts=opts).image_ids or []
    digests = {
        image.image_tag: image.image_digest
        for image in image_ids
        if image.image_tag and is_digest(image.image_digest)
    }
    newest = None
    if image_ids:
        newest = aws.ecr.get_image(
            repository_name=repository_name, most_recent=True, opts=opts
        ).image_digest
    return RegistryContents(
        repository_exists=True,
        digests_by_tag=digests,
        newest_digest=newest if newest and is_digest(newest) else None,
    )


def digest_of(repo_digest: str) -> str:
    """`sha256:…` from the `<repository>@sha256:…` reference pulumi-docker reports."""
    _, _, digest = repo_digest.partition("@")
    if not is_digest(digest):
        raise ValueError(f"repoDigest: expected <repository>@sha256:<64 hex>, got {repo_digest!r}")
    return digest
