"""Thin helpers over the Docker CLI.

The CLI (not docker-py) is used on purpose: it is what CI, the push scripts and people run,
so tests and benchmarks exercise the same client behaviour, including `DOCKER_HOST`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DockerError(RuntimeError):
    """A docker command failed; the message carries its stderr."""


def docker(
    *args: str,
    input_text: str | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `docker ARGS` and return stdout; raise DockerError with stderr on failure.

    The classic builder is the default (`DOCKER_BUILDKIT=0`) because it prints one line per
    step with `Using cache`, which the cache tests read; pass `env` to choose BuildKit.
    """
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


def image_size(ref: str) -> int:
    size: int = inspect(ref)["Size"]
    return size


def layer_sizes(ref: str) -> list[tuple[str, int]]:
    """(instruction, bytes) of each layer, oldest first, as `docker history` reports them."""
    lines = docker(
        "history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", ref
    ).splitlines()
    layers = []
    for line in reversed(lines):
        size, _, created_by = line.partition("\t")
        layers.append((created_by, int(size)))
    return layers


def container_logs(name: str) -> str:
    """Both streams of `docker logs` (the CLI replays the container's stderr on its own)."""
    proc = subprocess.run(
        ["docker", "logs", name], capture_output=True, text=True, timeout=30, check=False
    )
    return proc.stdout + proc.stderr


def copy_from_image(ref: str, path: str, destination: Path) -> Path:
    """Copy `path` out of an image without running it: `docker create`, `docker cp`, `rm`."""
    container = docker("create", ref, timeout=60).strip()
    try:
        docker("cp", f"{container}:{path}", str(destination), timeout=60)
    finally:
        docker("rm", container, timeout=60)
    return destination


def untag_registry(host: str) -> None:
    """Remove every local tag pointing into the registry at `host` (the images stay if used)."""
    refs = docker("images", "--format", "{{.Repository}}:{{.Tag}}", timeout=30).split()
    mine = [ref for ref in refs if ref.startswith(f"{host}/")]
    if mine:
        docker("rmi", *mine, timeout=120)


def remove_descendants(image_id: str) -> int:
    """Remove every local image built on `image_id` (tags, intermediates), not the image.

    The classic builder's cache is exactly these images, so afterwards a build on
    `image_id` starts from an empty cache, while everyone else's cache stays intact.
    """
    ids = docker("images", "--all", "--quiet", "--no-trunc", timeout=60).split()
    parents = {}
    if ids:
        for image in json.loads(docker("image", "inspect", *set(ids), timeout=120)):
            parents[image["Id"]] = image.get("Parent", "")
    depth = {image_id: 0}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if child not in depth and parent in depth:
                depth[child] = depth[parent] + 1
                grew = True
    del depth[image_id]
    # Leaves first: the engine refuses to delete an image that still has children, and
    # deleting a leaf also deletes its untagged parents, which are then already gone.
    for doomed in sorted(depth, key=depth.__getitem__, reverse=True):
        try:
            docker("rmi", "--force", doomed, timeout=120)
        except DockerError as exc:
            if "No such image" not in str(exc):
                raise
    return len(depth)


def step_used_cache(log: str, marker: str) -> bool:
    """Whether the classic-builder step whose instruction contains `marker` was cached."""
    steps = log.split("\nStep ")
    matching = [step for step in steps if marker in step.split("\n", 1)[0]]
    if not matching:
        raise AssertionError(f"no build step contains {marker!r}")
    return all("---> Using cache" in step for step in matching)


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
