"""What the registry already holds: digests of the images ECR reports for a repository.

The component asks before it builds (issue 10): a content tag ECR already has is never built or
pushed again, and the newest image found seeds the build cache. The pure helpers here read the
shapes pulumi-docker and `aws.ecr` invokes return.
"""

from __future__ import annotations

_HEX = frozenset("0123456789abcdef")


def digest_of(repo_digest: str) -> str:
    """`sha256:…` from the `<repository>@sha256:…` reference pulumi-docker reports."""
    _, _, digest = repo_digest.partition("@")
    if not is_digest(digest):
        raise ValueError(f"repoDigest: expected <repository>@sha256:<64 hex>, got {repo_digest!r}")
    return digest


def is_digest(text: str) -> bool:
    """Whether `text` is an OCI manifest digest `sha256:<64 lowercase hex>`."""
    algorithm, _, hex_part = text.partition(":")
    return algorithm == "sha256" and len(hex_part) == 64 and set(hex_part) <= _HEX
