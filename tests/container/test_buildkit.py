"""The Dockerfile also builds with BuildKit, to an image with the same contract."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from testkit.engine import docker, image_size, inspect
from tests.container.conftest import BuiltImage

pytestmark = pytest.mark.container

LEGACY_CLI = Path("/usr/bin/docker")  # Debian's docker.io 20.10 CLI has BuildKit built in


def buildkit_command() -> list[str]:
    """A client that can drive BuildKit: buildx if installed, else a pre-23 CLI."""
    if (
        subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode
        == 0
    ):
        return ["docker", "buildx", "build", "--load"]
    if LEGACY_CLI.is_file():
        version = subprocess.run(
            [str(LEGACY_CLI), "--version"], capture_output=True, text=True, check=False
        ).stdout
        major = re.search(r"version (\d+)\.", version)
        if major and int(major.group(1)) < 23:
            return [str(LEGACY_CLI), "build"]
    reason = "no BuildKit client: neither `docker buildx` nor a pre-23 docker CLI"
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def test_buildkit_build_matches_the_classic_one(built_image: BuiltImage, tmp_path: Path) -> None:
    context = tmp_path / "server"
    shutil.copytree(built_image.context, context)
    tag = "retail-api:test-buildkit"
    args = [
        arg
        for key, value in built_image.build_args.items()
        for arg in ("--build-arg", f"{key}={value}")
    ]
    result = subprocess.run(
        [*buildkit_command(), "--network", "host", *args, "-t", tag, str(context)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    try:
        assert "#1 " in result.stderr or "#1 " in result.stdout, "not a BuildKit build log"
        ours, classic = inspect(tag)["Config"], inspect(built_image.tag)["Config"]
        for key in ("User", "Cmd", "ExposedPorts", "Healthcheck", "Labels", "Env", "WorkingDir"):
            assert ours[key] == classic[key], key
        assert abs(image_size(tag) - image_size(built_image.tag)) < 0.05 * image_size(tag)
    finally:
        docker("rmi", tag)
