"""Image references and ECR registry hosts, parsed once where they enter. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from infra.oci import is_digest

# https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html: the private
# registry host is <account>.dkr.ecr[-fips].<region>.amazonaws.com (.com.cn in China).
_ECR_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
)
# OCI distribution spec: repository path components and tags.
_REPOSITORY = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


class PromotionError(ValueError):
    """Promotion cannot go ahead; the message names the stack, tag or digests concerned."""


@dataclass(frozen=True)
class Repository:
    """A repository on a registry: `host/name` (host with a port for a local registry)."""

    host: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Repository:
        host, _, name = text.partition("/")
        if not host or not _REPOSITORY.fullmatch(name):
            raise PromotionError(f"{text!r} is not <registry host>/<repository>")
        return cls(host, name)

    def __str__(self) -> str:
        return f"{self.host}/{self.name}"

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(registry id, region) when the host is a private ECR registry, else None."""
        match = _ECR_HOST.fullmatch(self.host)
        return (match["account"], match["region"]) if match else None


@dataclass(frozen=True)
class Source:
    """The image a promotion copies: a repository and the digest the source stack gated."""

    repository: Repository
    digest: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}@{self.digest}"


def parse_digest_ref(image_ref: str) -> tuple[Repository, str]:
    """`host/name@sha256:<64 hex>` → (repository, digest); PromotionError otherwise."""
    name, _, digest = image_ref.partition("@")
    if not is_digest(digest):
        raise PromotionError(f"{image_ref!r} is not <registry host>/<repository>@sha256:<64 hex>")
    return Repository.parse(name), digest


def check_tag(tag: object) -> str:
    """An OCI tag (letters, digits, `_` `.` `-`, at most 128); PromotionError otherwise."""
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise PromotionError(f"{tag!r} is not an image tag ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})")
    return tag


def source_from_outputs(stack: str, outputs: Mapping[str, object]) -> Source:
    """The source stack's gated image from its outputs (`imageRef`, `imageTag`).

    `imageRef` resolves only after the source's scan gate passed, so a stack without one has
    nothing gated to promote."""
    image_ref, tag = outputs.get("imageRef"), outputs.get("imageTag")
    if not isinstance(image_ref, str) or not image_ref:
        raise PromotionError(
            f"promoteFrom {stack}: the stack has no gated imageRef output (has its `pulumi up` "
            "finished, with the scan gate passing?); nothing to promote"
        )
    try:
        repository, digest = parse_digest_ref(image_ref)
        return Source(repository, digest, check_tag(tag))
    except PromotionError as error:
        raise PromotionError(f"promoteFrom {stack}: imageRef/imageTag: {error}") from None
