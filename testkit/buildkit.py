"""BuildKit builds as pulumi-docker runs them, and the engine's BuildKit cache records.

pulumi-docker builds through the engine API with BuildKit (builder version 2), `cache_from`
images pulled first. Without buildx the Docker 23+ CLI refuses `DOCKER_BUILDKIT=1`, so the
Debian 20.10 CLI (BuildKit built in) drives the build; both talk to the same engine.

BuildKit's cache lives in the engine, not in images, so "an empty cache" cannot be had by
deleting images; pruning it all would slow every other build on a shared engine. Instead
`new_cache_records` finds exactly the records a build on a fresh base created (everything
that descends from a root record that did not exist before), and `remove_cache_records`
prunes those alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from testkit.engine import Build, DockerError, docker, inspect

LEGACY_CLI = Path("/usr/bin/docker")  # Debian's docker.io 20.10 CLI has BuildKit built in

StepState = Literal["ran", "cached"]


def buildkit_command() -> list[str] | None:
    """A client that can drive BuildKit: buildx if installed, else a pre-23 CLI; or None."""
    buildx = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False)
    if buildx.returncode == 0:
        return ["docker", "buildx", "build", "--load"]
    if LEGACY_CLI.is_file():
        version = subprocess.run(
            [str(LEGACY_CLI), "--version"], capture_output=True, text=True, check=False
        ).stdout
        major = re.search(r"version (\d+)\.", version)
        if major and int(major.group(1)) < 23:
            return [str(LEGACY_CLI), "build"]
    return None


def buildkit_build(
    context: Path,
    tag: str,
    build_args: Mapping[str, str],
    extra: Sequence[str] = (),
) -> Build:
    """A BuildKit build on the host network with a plain log (one line per step event)."""
    command = buildkit_command()
    if command is None:
        raise DockerError("no BuildKit client: neither `docker buildx` nor a pre-23 docker CLI")
    args = [*command, "--progress", "plain", "--network", "host", "-t", tag, *extra]
    for key, value in build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    started = time.monotonic()
    proc = subprocess.run(
        [*args, str(context)],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
        check=False,
    )
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise DockerError(f"BuildKit build of {tag} failed: {proc.stderr[-3000:]}")
    # The plain progress goes to stderr.
    return Build(image_id=inspect(tag)["Id"], seconds=seconds, log=proc.stderr + proc.stdout)


_STEP = re.compile(r"^#(\d+) (\[[^\]]+\] .*)$")


def buildkit_steps(log: str) -> dict[str, StepState]:
    """Each Dockerfile step BuildKit showed (`[stage n/m] INSTRUCTION`): cached or ran.

    A step BuildKit did not need (its result was reached from a later cached step) never
    appears in the log at all, so "absent" means "did not run" as much as `CACHED` does.
    """
    names: dict[str, str] = {}
    cached: set[str] = set()
    for line in log.splitlines():
        match = _STEP.match(line)
        if match:
            names.setdefault(match.group(1), match.group(2))
        elif re.match(r"^#(\d+) CACHED$", line):
            cached.add(line.split()[0][1:])
    return {name: "cached" if number in cached else "ran" for number, name in names.items()}


def step_ran(log: str, marker: str) -> bool:
    """Whether BuildKit executed a step whose instruction contains `marker`."""
    return any(marker in name and state == "ran" for name, state in buildkit_steps(log).items())


def step_cached(log: str, marker: str) -> bool:
    """Whether a step containing `marker` was shown and reported `CACHED`."""
    return any(marker in name and state == "cached" for name, state in buildkit_steps(log).items())


@dataclass(frozen=True)
class CacheRecord:
    id: str
    parent: str
    type: str
    description: str


def cache_records() -> dict[str, CacheRecord]:
    """The engine's BuildKit cache records by id (`docker system df -v`)."""
    raw = docker("system", "df", "-v", "--format", "{{json .BuildCache}}", timeout=120)
    records = json.loads(raw) or []
    return {
        r["ID"]: CacheRecord(
            id=r["ID"],
            parent=r.get("Parent") or "",
            type=r["CacheType"],
            description=r["Description"],
        )
        for r in records
    }


def new_cache_records(before: Iterable[str], layer_marker: str) -> list[str]:
    """Records built on a base layer first seen after `before`, leaves first.

    The engine keeps one record per image layer, chained to the layer below; a base layer
    taken from the local image store is described `from local`, one that came with an
    exported or pulled image by its history line (so `layer_marker`, a token written by the
    base's unique layer, names it). A build on such a base hangs all its cache under that
    layer's new record: this is exactly that build's cache, nothing another build uses.
    """
    known = set(before)
    records = cache_records()
    depth: dict[str, int] = {
        rid: 0
        for rid, r in records.items()
        if rid not in known
        and (not r.parent or r.parent in known)
        and (r.description.startswith("from local") or layer_marker in r.description)
    }
    return _with_descendants(records, depth)


def _with_descendants(records: Mapping[str, CacheRecord], depth: dict[str, int]) -> list[str]:
    grew = True
    while grew:
        grew = False
        for rid, record in records.items():
            if rid not in depth and record.parent in depth:
                depth[rid] = depth[record.parent] + 1
                grew = True
    return sorted(depth, key=depth.__getitem__, reverse=True)


def remove_cache_records(ids: Sequence[str]) -> None:
    """Prune exactly these records (the engine matches `id` as a regular expression)."""
    if ids:
        pattern = "^(" + "|".join(re.escape(i) for i in ids) + ")$"
        # Leaves first in one call; a second pass catches parents a child still held.
        for _ in range(2):
            docker("builder", "prune", "--all", "--force", "--filter", f"id={pattern}", timeout=300)
