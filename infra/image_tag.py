"""The image's content tag: `sha-` + 12 hex of a digest of everything that goes into the build.

Same inputs, same tag; any change, a new tag. An immutable repository therefore never sees one
tag with two contents, and an unchanged tree needs no push. The inputs are the files of the
build context that `.dockerignore` lets through (matched by docker-py, the Docker SDK's own
implementation of the CLI's rules), their relative paths and executable bits, the Dockerfile,
the build args and the platform.

    python -m infra.image_tag [--context server] [--platform linux/amd64] [--build-args]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from docker.utils.build import exclude_paths

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TAG_PREFIX = "sha-"
TAG_HEX_LENGTH = 12


@dataclass(frozen=True)
class BuildPlan:
    """What the program hands to `docker build`: the tag to push and the build args."""

    tag: str
    content_tag: str
    build_args: dict[str, str]


def dockerignore_patterns(context: Path) -> list[str]:
    """The patterns of `<context>/.dockerignore`, read as the Docker CLI reads them."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def build_files(context: Path, dockerfile: Path) -> list[str]:
    """Sorted relative paths of the regular files the daemon receives."""
    relative_dockerfile = _relative_to(dockerfile, context)
    included = exclude_paths(
        str(context), dockerignore_patterns(context), dockerfile=relative_dockerfile
    )
    return sorted(path for path in included if (context / path).is_file())


def content_digest(
    context: Path, dockerfile: Path, build_args: Mapping[str, str], platform: str
) -> str:
    """Hex SHA-256 over the build inputs, independent of file-system order and timestamps."""
    digest = hashlib.sha256()
    for relative in build_files(context, dockerfile):
        path = context / relative
        executable = "x" if os.access(path, os.X_OK) else "-"
        digest.update(f"file\0{relative}\0{executable}\0{_file_sha256(path)}\n".encode())
    # The Dockerfile counts even when it lives outside the context or is ignored by it.
    digest.update(f"dockerfile\0{_file_sha256(dockerfile)}\n".encode())
    for key in sorted(build_args):
        digest.update(f"arg\0{key}\0{build_args[key]}\n".encode())
    digest.update(f"platform\0{platform}\n".encode())
    return digest.hexdigest()


def content_tag(
    context: Path, dockerfile: Path, build_args: Mapping[str, str], platform: str
) -> str:
    return TAG_PREFIX + content_digest(context, dockerfile, build_args, platform)[:TAG_HEX_LENGTH]


def build_plan(
    context: Path, dockerfile: Path, platform: str, tag_override: str | None = None
) -> BuildPlan:
    """Tag and build args; the OCI revision label carries the content tag, not a git SHA,
    because a commit that leaves the image's inputs alone must not produce a new tag."""
    hashed_args = {"VERSION": project_version()}
    tag = content_tag(context, dockerfile, hashed_args, platform)
    return BuildPlan(
        tag=tag_override or tag,
        content_tag=tag,
        build_args={**hashed_args, "REVISION": tag},
    )


def digest_of(repo_digest: str) -> str:
    """`sha256:…` from the `<repository>@sha256:…` reference pulumi-docker reports."""
    _, _, digest = repo_digest.partition("@")
    algorithm, _, hex_part = digest.partition(":")
    if algorithm != "sha256" or len(hex_part) != 64 or not _is_hex(hex_part):
        raise ValueError(f"repoDigest: expected <repository>@sha256:<64 hex>, got {repo_digest!r}")
    return digest


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdef" for char in text)


def project_version() -> str:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _relative_to(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.image_tag", description=__doc__)
    parser.add_argument("--context", type=Path, default=PROJECT_ROOT / "server")
    parser.add_argument("--dockerfile", type=Path, help="default: <context>/Dockerfile")
    parser.add_argument("--platform", default="linux/amd64")
    parser.add_argument(
        "--build-args", action="store_true", help="print the build args as KEY=VALUE lines"
    )
    options = parser.parse_args(argv)
    context: Path = options.context
    if not context.is_dir():
        parser.error(f"--context: {context} is not a directory")
    dockerfile: Path = options.dockerfile or context / "Dockerfile"
    if not dockerfile.is_file():
        parser.error(f"--dockerfile: {dockerfile} does not exist")
    plan = build_plan(context, dockerfile, options.platform)
    if options.build_args:
        lines = [f"{key}={value}" for key, value in sorted(plan.build_args.items())]
    else:
        lines = [plan.tag]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
