"""The image's content tag: `sha-` + 12 hex of a digest of everything that goes into the build.

Same inputs, same tag, on every machine; any change, a new tag. An immutable repository
therefore never sees one tag with two contents, and a tag the registry already holds needs
no build and no push. What is hashed, one record per line, fields separated by NUL:

    file\\0<path>\\0<x or ->\\0<sha256 hex of the bytes>   every regular file the daemon receives
    link\\0<path>\\0<target>                             every symlink it receives
    dockerfile\\0<sha256 hex of the Dockerfile>
    arg\\0<NAME>\\0<value>                               every build arg but REVISION, by name
    platform\\0<platform>                              each platform of the set, in its order

A multi-platform image (`imagePlatforms`) is one index under one tag, so its tag covers the
whole platform set; the order counts too, because it is the index's entry order, and an index
with other bytes under the same immutable tag would be refused. One platform gives the one
record a single-platform build always had, and so the same tag.

Paths are relative to the context, `/`-separated and sorted, so the checkout path and the
listing order never matter. The files are the ones the ignore file lets through (matched by
docker-py, the Docker SDK's copy of the CLI's rules). The ignore file is BuildKit's:
`<Dockerfile>.dockerignore` beside the Dockerfile when it exists, else `<context>/.dockerignore`
(https://docs.docker.com/build/concepts/context/#filename-and-location). Of a file's mode
only the owner's executable bit counts: it is the one bit git records, while the others follow
the umask of whoever cloned (`-rw-r--r--` at 022, `-rw-rw-r--` at 002). Timestamps are never
read.

The base image is a hashed build arg (`BASE_IMAGE`): the digest pinned by the
`ARG BASE_IMAGE=<name>@sha256:<64 hex>` line at the top of `server/Dockerfile`, or the
stand-in a test build passes instead, which therefore gets a tag of its own.

    python -m infra.image_tag [--context server] [--dockerfile F] [--platform linux/amd64]
                              [--base-image REF] [--build-args]

(the command: `infra/cli/image_tag.py`).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from docker.utils.build import exclude_paths

from infra.paths import DOCKERFILE, PROJECT_ROOT

TAG_PREFIX = "sha-"
TAG_HEX_LENGTH = 12
BASE_IMAGE_ARG = "BASE_IMAGE"
# The label's value is the tag itself, so it cannot be one of the tag's inputs.
UNHASHED_ARGS = frozenset({"REVISION"})

# Docker's reference grammar (distribution/reference), narrowed to what a base can be.
_COMPONENT = r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
_NAME = rf"(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
_DIGEST = r"@sha256:[0-9a-f]{64}"
PINNED_REFERENCE = re.compile(_NAME + _TAG + _DIGEST)
IMAGE_REFERENCE = re.compile(_NAME + _TAG + f"(?:{_DIGEST})?")
_BASE_ARG_LINE = re.compile(r"\s*ARG\s+BASE_IMAGE\s*=\s*(?P<value>\S*)\s*", re.IGNORECASE)
_FROM_LINE = re.compile(r"\s*FROM\s", re.IGNORECASE)


class BaseImageError(ValueError):
    """The pinned base is missing or not pinned by digest, or an override is no reference."""


@dataclass(frozen=True)
class BuildPlan:
    """Everything the program hands the engine, and the tag it pushes.

    `context` and `dockerfile` are relative to the project root and `/`-separated, so the
    engine inputs are the same on a laptop, a CI runner and Windows.
    """

    tag: str
    content_tag: str
    base_image: str
    context: str
    dockerfile: str
    platform: str
    """The first (default) platform; the one built when `platforms` has one entry."""
    build_args: dict[str, str]
    platforms: tuple[str, ...] = ()
    """Every platform the tag covers, in order (one image each, then an index for two or more)."""

    def printout(self, build_args: bool) -> str:
        """What the tag commands print: the tag, or with `--build-args` the build arguments
        as sorted KEY=VALUE lines (for `docker build --build-arg`)."""
        if build_args:
            lines = [f"{key}={value}" for key, value in sorted(self.build_args.items())]
        else:
            lines = [self.tag]
        return "\n".join(lines) + "\n"


def pinned_base_image(dockerfile: Path = DOCKERFILE) -> str:
    """The `name@sha256:<64 hex>` of the `ARG BASE_IMAGE=…` before the Dockerfile's first FROM."""
    for line in _read_text(dockerfile).splitlines():
        if _FROM_LINE.match(line):
            break
        found = _BASE_ARG_LINE.fullmatch(line)
        if found is None:
            continue
        value = found["value"].strip("\"'")
        if not PINNED_REFERENCE.fullmatch(value):
            raise BaseImageError(
                f"{dockerfile}: ARG {BASE_IMAGE_ARG} must pin the base by digest as "
                f"<name>@sha256:<64 hex>, got {value!r}"
            )
        return value
    raise BaseImageError(
        f"{dockerfile}: no `ARG {BASE_IMAGE_ARG}=<name>@sha256:<64 hex>` before the first FROM"
    )


def check_base_override(base_image: str) -> str:
    """A stand-in base (tests) may carry a tag instead of a digest, but must be a reference."""
    if not IMAGE_REFERENCE.fullmatch(base_image):
        raise BaseImageError(
            f"{BASE_IMAGE_ARG}: {base_image!r} is not an image reference (name[:tag][@sha256:…])"
        )
    return base_image


def ignore_file(context: Path, dockerfile: Path) -> Path:
    """The ignore file BuildKit applies: the Dockerfile-specific one takes precedence."""
    specific = dockerfile.with_name(dockerfile.name + ".dockerignore")
    return specific if specific.is_file() else context / ".dockerignore"


def dockerignore_patterns(context: Path, dockerfile: Path) -> list[str]:
    """The patterns of the build's ignore file, read as the Docker CLI reads them."""
    path = ignore_file(context, dockerfile)
    if not path.is_file():
        return []
    lines = (line.strip() for line in _read_text(path).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def build_files(context: Path, dockerfile: Path) -> list[str]:
    """Sorted `/`-separated relative paths of the files and symlinks the daemon receives."""
    relative_dockerfile = _relative_to(dockerfile, context)
    included = exclude_paths(
        str(context), dockerignore_patterns(context, dockerfile), dockerfile=relative_dockerfile
    )
    # A symlinked folder is sent as a link, not walked, so only real folders are left out.
    return sorted(
        PurePath(path).as_posix()
        for path in included
        if (context / path).is_symlink() or (context / path).is_file()
    )


def content_digest(
    context: Path, dockerfile: Path, build_args: Mapping[str, str], platform: str | Sequence[str]
) -> str:
    """Hex SHA-256 over the records in the module docstring."""
    digest = hashlib.sha256()
    for relative in build_files(context, dockerfile):
        path = context / relative
        if path.is_symlink():
            digest.update(f"link\0{relative}\0{path.readlink().as_posix()}\n".encode())
            continue
        # git's rule (S_IXUSR), not os.access: root may execute any file with any x bit.
        executable = "x" if path.stat().st_mode & stat.S_IXUSR else "-"
        digest.update(f"file\0{relative}\0{executable}\0{_file_sha256(path)}\n".encode())
    # The Dockerfile counts even when it lives outside the context or is ignored by it.
    digest.update(f"dockerfile\0{_file_sha256(dockerfile)}\n".encode())
    for name in sorted(set(build_args) - UNHASHED_ARGS):
        digest.update(f"arg\0{name}\0{build_args[name]}\n".encode())
    for one in _platform_set(platform):
        digest.update(f"platform\0{one}\n".encode())
    return digest.hexdigest()


def content_tag(
    context: Path, dockerfile: Path, build_args: Mapping[str, str], platform: str | Sequence[str]
) -> str:
    return TAG_PREFIX + content_digest(context, dockerfile, build_args, platform)[:TAG_HEX_LENGTH]


def build_plan(
    context: Path,
    dockerfile: Path,
    platform: str | Sequence[str],
    tag_override: str | None = None,
    *,
    base_image: str | None = None,
    project_root: Path = PROJECT_ROOT,
) -> BuildPlan:
    """Tag and engine inputs. `base_image` replaces the pinned base (offline stand-ins) and
    so changes the tag. The OCI revision label carries the content tag, not a git SHA,
    because a commit that leaves the image's inputs alone must not produce a new tag."""
    base = check_base_override(base_image) if base_image else pinned_base_image(dockerfile)
    hashed_args = {BASE_IMAGE_ARG: base, "VERSION": project_version(project_root)}
    tag = content_tag(context, dockerfile, hashed_args, platform)
    return BuildPlan(
        tag=tag_override or tag,
        content_tag=tag,
        base_image=base,
        context=_relative_path(context, project_root),
        dockerfile=_relative_path(dockerfile, project_root),
        platform=_platform_set(platform)[0],
        build_args={**hashed_args, "REVISION": tag},
        platforms=_platform_set(platform),
    )


def _platform_set(platform: str | Sequence[str]) -> tuple[str, ...]:
    platforms = (platform,) if isinstance(platform, str) else tuple(platform)
    if not platforms:
        raise ValueError("platforms: at least one platform is needed")
    return platforms


def project_version(project_root: Path = PROJECT_ROOT) -> str:
    path = project_root / "pyproject.toml"
    with path.open("rb") as file:
        try:
            return str(tomllib.load(file)["project"]["version"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: no readable [project] version: {exc}") from exc


def _read_text(path: Path) -> str:
    """The file's UTF-8 text; a ValueError naming the file if it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def error_line(error: ValueError | OSError) -> str:
    """One line for the CLI; an OSError names the file it could not read."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: cannot read: {error.strerror or error}"
    return str(error)


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _relative_to(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def _relative_path(path: Path, root: Path) -> str:
    return PurePath(os.path.relpath(path.resolve(), root.resolve())).as_posix()
