"""What an image ECR already holds was built from: its revision label, read without a pull.

An `imageTag` override names a tag, not a content: if ECR already holds that tag, the program
deploys what is there (an immutable tag cannot be pushed again). The image carries the content
tag it was built from in its `org.opencontainers.image.revision` label (server/Dockerfile), so
the program reads that label — BatchGetImage, then the config blob — and refuses to deploy a
held image built from other inputs than this build. A content tag names its content, so it
cannot mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.aws_session import AwsSession
from infra.aws_types import AwsCallError, EcrTarget
from infra.oci import (
    REVISION_LABEL,
    ManifestError,
    accepted_media_types,
    image_labels,
    parse_json,
    resolve_image,
)

MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""An image config is a few kB; the cap only stops a wrong blob early."""


class HeldImageError(ValueError):
    """The held image is not this build's content, or cannot be read; names both tags."""


@dataclass(frozen=True)
class HeldImage:
    tag: str
    digest: str
    revision: str | None
    """The content tag it was built from, or None when it has no revision label."""


def read_held_image(
    session: AwsSession, target: EcrTarget, tag: str, digest: str, platform: str
) -> HeldImage:
    """The revision label of the image `digest` (for an index, its `platform` image)."""
    media_types = list(accepted_media_types())

    def manifest(ref: str) -> bytes:
        return session.manifest(target, ref, media_types)

    def blob(ref: str) -> bytes:
        return session.blob(target, ref, MAX_CONFIG_BYTES)

    try:
        top = parse_json(manifest(digest), f"manifest {digest}")
        _, config = resolve_image(top, manifest, blob, platform)
    except AwsCallError as exc:
        raise HeldImageError(
            f"imageTag {tag}: cannot read the image ECR holds ({digest}): {exc}"
            + (
                ""
                if exc.no_credentials
                else " (the deploying role needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer)"
            )
        ) from None
    except ManifestError as exc:
        raise HeldImageError(f"imageTag {tag}: the image ECR holds ({digest}): {exc}") from None
    return HeldImage(tag, digest, image_labels(config).get(REVISION_LABEL))


def check_held_content(held: HeldImage, content_tag: str, accepted_digest: str | None) -> None:
    """Refuse a held image built from other inputs than this build (pure)."""
    if held.revision == content_tag:
        return
    if held.revision is None:
        if accepted_digest == held.digest:
            return
        raise HeldImageError(
            f"imageTag {held.tag}: ECR already holds it ({held.digest}) without a "
            f"{REVISION_LABEL} label, so its content cannot be matched to this build "
            f"({content_tag}); push a new tag, or accept that image with "
            f"acceptUnlabelledDigest: {held.digest}"
        )
    raise HeldImageError(
        f"imageTag {held.tag}: ECR already holds it ({held.digest}), built from "
        f"{held.revision}, but this build is {content_tag}; the code changed since that tag "
        "was pushed: use a new imageTag (or none, for the content tag)"
    )
