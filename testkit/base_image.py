"""The base image the tests build on: the pinned official one, or an offline stand-in.

The official `python:3.11-slim@sha256:…` (pinned in the Dockerfile) is used when the engine
has it or can pull it. Machines that cannot reach Docker Hub get a Debian bookworm minbase
with python3 3.11 made by debootstrap and imported under STAND_IN_BASE; builds pass it as
`--build-arg BASE_IMAGE=…`, and the content tag includes that reference, so an image built
on the stand-in can never carry the tag of a real build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from infra.image_tag import pinned_base_image
from testkit.engine import DockerError, docker, image_exists

# Tagged once per engine and reused: debootstrap takes about a minute.
STAND_IN_BASE = "retail-registry/python-base:3.11-bookworm"
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


def build_stand_in_base(tag: str) -> None:
    """Debian bookworm minbase with python3 (3.11, as the lock), imported as `tag`."""
    for tool in ("debootstrap", "tar"):
        if shutil.which(tool) is None:
            raise DockerError(
                f"{tool} is needed to build the stand-in base: apt-get install {tool}"
            )
    with tempfile.TemporaryDirectory(prefix="retail-base-") as tmp:
        root = Path(tmp) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(root),
                DEBIAN_MIRROR,
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        _trim_rootfs(root)
        # PyPI is reached through a proxy that signs with its own CA; builds need to trust it.
        if HOST_CA_BUNDLE.is_file():
            shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
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
