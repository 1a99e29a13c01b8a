"""Platforms as the stack names them (`linux/arm64`) and as an image index records them.

Pure: no Pulumi, no I/O. Docker normalises `linux/arm64` to variant v8
(https://github.com/containerd/platforms/blob/main/database.go), so `linux/arm64` and
`linux/arm64/v8` are one platform and may not both be listed.
"""

from __future__ import annotations

from typing import Any

IMAGE_PLATFORMS_KEY = "imagePlatforms"


def platform_key(platform: str) -> tuple[str, str]:
    """(os, architecture): what makes two platform names the same image."""
    parts = platform.split("/")
    return parts[0], parts[1] if len(parts) > 1 else ""


def arch_suffix(platform: str) -> str:
    """The child tag's suffix: the architecture (`amd64`, `arm64`), variant left out because
    one architecture appears once in a platform set."""
    return platform_key(platform)[1]


def child_tag(tag: str, platform: str) -> str:
    """`<tag>-<arch>`: the tag a platform's image is pushed under. It carries the index tag, so
    an immutable repository sees one content per child tag, and its `sha-`/`v` prefix, so the
    lifecycle rule that ages the index ages its children too."""
    return f"{tag}-{arch_suffix(platform)}"


def oci_platform(platform: str) -> dict[str, str]:
    """The index entry's `platform` object (image-index.md): os, architecture, variant."""
    parts = platform.split("/")
    found = {"architecture": parts[1], "os": parts[0]}
    if len(parts) > 2:
        found["variant"] = parts[2]
    return found


def image_platforms(key: str, value: Any) -> tuple[str, ...]:
    """The `imagePlatforms` parser: a non-empty list of known platforms, each architecture once.

    The order is kept: the first platform is the default one (`imageSbomSha256`, a held
    image's label check), and it is part of the content tag."""
    # Imported here: the key table (infra.config.settings) imports this module, and
    # infra.config's package import loads that table.
    from infra.config.parsers import PLATFORMS, ConfigError, string_list

    items = string_list(key, value)
    if not items:
        raise ConfigError(key, [], f"must list at least one platform of {', '.join(PLATFORMS)}")
    unknown = [
        ConfigError(key, item, f"must be one of {', '.join(PLATFORMS)}", path=f"[{index}]")
        for index, item in enumerate(items)
        if item not in PLATFORMS
    ]
    if unknown:
        raise ConfigError.combine(unknown)
    for index, item in enumerate(items):
        earlier = [seen for seen in items[:index] if platform_key(seen) == platform_key(item)]
        if earlier:
            raise ConfigError(
                key,
                item,
                f"is the same platform as {earlier[0]} (Docker reads arm64 as arm64/v8); "
                "list each architecture once",
                path=f"[{index}]",
            )
    return tuple(items)
