"""Thin helpers over the Docker CLI shared by the container tests and the image benchmark.

The CLI (not docker-py) is used on purpose: it is what CI, the push scripts and people run,
so the tests exercise the same client behaviour, including `DOCKER_HOST` handling.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_DIR = REPO_ROOT / "server"
# Tagged once per engine and reused: debootstrap takes about a minute.
STAND_IN_BASE = "retail-registry/python-base:3.11-bookworm"
OFFICIAL_BASE = "python:3.11-slim"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")


class DockerError(RuntimeError):
    """A docker command failed; the message carries its stderr."""


def docker(
    *args: str,
    input_text: str | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `docker ARGS` and return stdout; raise DockerError with stderr on failure."""
    full_env = {**os.environ, "DOCKER_BUILDKIT": "0", **(env or {})}
    proc = subprocess.run(
        ["docker", *args],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
    if proc.returncode != 0:
        raise DockerError(
            f"docker {' '.join(args[:3])} … failed ({proc.returncode}): {proc.stderr}"
        )
    return proc.stdout


def engine_problem() -> str | None:
    """Why the engine is unusable, or None when `docker info` answers."""
    if shutil.which("docker") is None:
        return "docker CLI not on PATH"
    try:
        docker("info", "--format", "{{.ServerVersion}}", timeout=15)
    except (DockerError, subprocess.TimeoutExpired) as exc:
        return f"Docker engine not reachable (DOCKER_HOST={os.environ.get('DOCKER_HOST')}): {exc}"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def image_exists(ref: str) -> bool:
    try:
        docker("image", "inspect", ref, timeout=30)
    except DockerError:
        return False
    return True


def inspect(ref: str) -> dict[str, Any]:
    """`docker inspect` of one image or container."""
    data: list[dict[str, Any]] = json.loads(docker("inspect", ref, timeout=30))
    return data[0]


def container_logs(name: str) -> str:
    """Both streams of `docker logs` (the CLI replays the container's stderr on its own)."""
    proc = subprocess.run(
        ["docker", "logs", name], capture_output=True, text=True, timeout=30, check=False
    )
    return proc.stdout + proc.stderr


def untag_registry(host: str) -> None:
    """Remove every local tag pointing into the registry at `host` (the images stay if used)."""
    refs = docker("images", "--format", "{{.Repository}}:{{.Tag}}", timeout=30).split()
    mine = [ref for ref in refs if ref.startswith(f"{host}/")]
    if mine:
        docker("rmi", *mine, timeout=120)


def image_size(ref: str) -> int:
    size: int = inspect(ref)["Size"]
    return size


def ensure_base_image() -> str:
    """The official slim image if the engine can pull it, else the debootstrap stand-in."""
    if image_exists(OFFICIAL_BASE):
        return OFFICIAL_BASE
    try:
        docker("pull", OFFICIAL_BASE, timeout=60)
        return OFFICIAL_BASE
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


def pip_build_args() -> dict[str, str]:
    """The index the builder stage installs from: the host's PIP_INDEX_URL, else PyPI.

    Always passed explicitly, so tests can prove such build args stay out of the runtime
    image. Proxy variables need no forwarding: they are Docker's predefined build args.
    """
    return {"PIP_INDEX_URL": os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple"}


@dataclass(frozen=True)
class Build:
    image_id: str
    seconds: float
    log: str


def build_image(
    context: Path,
    tag: str,
    build_args: Mapping[str, str],
    dockerfile: Path | None = None,
    extra: Sequence[str] = (),
) -> Build:
    """Classic-builder build on the host network (the only path to PyPI here)."""
    args = ["build", "--network", "host", "-t", tag, *extra]
    for key, value in build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    if dockerfile is not None:
        args += ["-f", str(dockerfile)]
    started = time.monotonic()
    log = docker(*args, str(context), timeout=1800)
    seconds = time.monotonic() - started
    return Build(image_id=inspect(tag)["Id"], seconds=seconds, log=log)


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.1) -> float:
    """Poll `predicate()` until truthy; return seconds waited, raise TimeoutError otherwise."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
