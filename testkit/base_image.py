"""The base image the tests build on: the pinned official one, or an offline stand-in.

The official `python:3.11-slim@sha256:…` (pinned in the Dockerfile) is used when the engine
has it or can pull it. Machines that cannot reach Docker Hub get a Debian bookworm minbase
with python3 3.11 made by debootstrap and imported under STAND_IN_BASE; builds pass it as
`--build-arg BASE_IMAGE=…`, and the content tag includes that reference, so an image built
on the stand-in can never carry the tag of a real build.

Another platform's stand-in (linux/arm64) is made the same way with `debootstrap --arch`,
which runs the foreign second stage through qemu-user-static and binfmt_misc (Debian packages
`qemu-user-static binfmt-support`), and is imported with that platform in its config, so a
`--platform linux/arm64` build resolves it from the local store. A Docker 20.10 store keeps one
platform per tag, hence one tag per platform.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from infra.image_tag import pinned_base_image
from testkit.buildkit import buildkit_command
from testkit.engine import DockerError, docker, image_exists, inspect

# Tagged once per engine and reused: debootstrap takes about a minute (several under qemu).
STAND_IN_BASE = "retail-registry/python-base:3.11-bookworm"
NATIVE_PLATFORM = "linux/amd64"
# The kernel's handler for aarch64 binaries; registered by binfmt-support for qemu-user-static.
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")


def ensure_base_image() -> str:
    """The pinned official base if the engine has it or can pull it, else the stand-in."""
    official = pinned_base_image()
    if image_exists(official):
        return official
    try:
        docker("pull", official, timeout=60)
        return official
    except (DockerError, subprocess.TimeoutExpired):
        pass
    if not image_exists(STAND_IN_BASE):
        build_stand_in_base(STAND_IN_BASE)
    return STAND_IN_BASE


def stand_in_base(platform: str) -> str:
    """The stand-in's tag for `platform` (`linux/<arch>`): the native one keeps its tag."""
    if platform == NATIVE_PLATFORM:
        return STAND_IN_BASE
    return f"{STAND_IN_BASE}-{platform_arch(platform)}"


def platform_arch(platform: str) -> str:
    """`linux/arm64/v8` -> `arm64`: Debian and Docker share the names for these two."""
    parts = platform.split("/")
    if len(parts) < 2 or parts[0] != "linux" or parts[1] not in ("amd64", "arm64"):
        raise ValueError(f"platform {platform!r}: expected linux/amd64 or linux/arm64")
    return parts[1]


def emulation_problem(platform: str) -> str | None:
    """Why this machine cannot run `platform`'s binaries, or None when it can."""
    arch = platform_arch(platform)
    if platform == NATIVE_PLATFORM:
        return None
    handler = BINFMT_DIR / ("qemu-aarch64" if arch == "arm64" else f"qemu-{arch}")
    if not handler.is_file():
        return (
            f"{platform} needs qemu-user-static and binfmt-support with binfmt_misc mounted "
            f"({handler} is missing; `update-binfmts --enable qemu-aarch64`)"
        )
    if not handler.read_text().startswith("enabled"):
        return f"{handler} is disabled; `update-binfmts --enable qemu-aarch64`"
    return None


def ensure_platform_base(platform: str) -> str:
    """The stand-in for `platform`, made once per engine (the official base is a multi-platform
    index, but a Docker 20.10 store cannot hold two platforms of it under one reference)."""
    if platform == NATIVE_PLATFORM:
        return ensure_base_image()
    tag = stand_in_base(platform)
    problem = emulation_problem(platform)
    if problem is not None:
        raise DockerError(problem)
    if not image_exists(tag):
        build_stand_in_base(tag, platform)
    elif inspect(tag)["Architecture"] != platform_arch(platform):
        relabel(tag, platform)
    return tag


def build_stand_in_base(tag: str, platform: str = NATIVE_PLATFORM) -> None:
    """Debian bookworm minbase with python3 (3.11, as the lock) for `platform`, imported as
    `tag` with that platform in its config."""
    for tool in ("debootstrap", "tar"):
        if shutil.which(tool) is None:
            raise DockerError(
                f"{tool} is needed to build the stand-in base: apt-get install {tool}"
            )
    arch = platform_arch(platform)
    with tempfile.TemporaryDirectory(prefix="retail-base-") as tmp:
        root = Path(tmp) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                f"--arch={arch}",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(root),
                DEBIAN_MIRROR,
            ],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        _trim_rootfs(root)
        # PyPI is reached through a proxy that signs with its own CA; builds need to trust it.
        if HOST_CA_BUNDLE.is_file():
            shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
        if platform == NATIVE_PLATFORM:
            _import_native(root, tag)
        else:
            archive = Path(tmp) / "rootfs.tar"
            subprocess.run(["tar", "-C", str(root), "-cf", str(archive), "."], check=True)
            _build_from_archive(archive, tag, platform)


def _import_native(root: Path, tag: str) -> None:
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(
        ["docker", "import", "--change", 'CMD ["python3"]', "-", tag],
        stdin=tar.stdout,
        capture_output=True,
        check=False,
        timeout=600,
    )
    tar.wait()
    if imported.returncode != 0:
        raise DockerError(f"docker import failed: {imported.stderr.decode()}")


def _build_from_archive(archive: Path, tag: str, platform: str) -> None:
    """`FROM scratch` + the root filesystem, built by BuildKit for `platform`: unlike
    `docker import` (whose `--platform` a 20.10 engine ignores), the image config then names
    that platform's architecture, which a `--platform` build of the API looks for."""
    command = buildkit_command()
    if command is None:
        raise DockerError("no BuildKit client: neither `docker buildx` nor a pre-23 docker CLI")
    context = archive.parent / "context"
    context.mkdir()
    archive.rename(context / archive.name)
    (context / "Dockerfile").write_text(
        f'FROM scratch\nADD {archive.name} /\nCMD ["python3"]\n', encoding="utf-8"
    )
    built = subprocess.run(
        [*command, "--platform", platform, "--tag", tag, str(context)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    if built.returncode != 0:
        raise DockerError(f"building the {platform} stand-in base failed: {built.stderr[-2000:]}")


def relabel(tag: str, platform: str) -> None:
    """Rebuild `tag` from its own filesystem for `platform` (an image `docker import` made
    with the engine's architecture in its config)."""
    container = docker("create", tag).strip()
    try:
        with tempfile.TemporaryDirectory(prefix="retail-base-") as tmp:
            archive = Path(tmp) / "rootfs.tar"
            docker("export", "--output", str(archive), container, timeout=600)
            _build_from_archive(archive, tag, platform)
    finally:
        docker("rm", container)


def _trim_rootfs(root: Path) -> None:
    """Drop package caches and docs, as the official slim images do."""
    for rel in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        target = root / rel
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
