"""The Dockerfile also builds with BuildKit, to an image with the same contract."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testkit import buildkit
from testkit.engine import docker, image_size, inspect
from tests.container.conftest import BuiltImage

pytestmark = pytest.mark.container

NO_CLIENT = "no BuildKit client: neither `docker buildx` nor a pre-23 docker CLI"


def buildkit_client() -> list[str]:
    """testkit's BuildKit client; without one the test skips, or fails if REQUIRE_DOCKER=1."""
    command = buildkit.buildkit_command()
    if command is not None:
        return command
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(NO_CLIENT)
    pytest.skip(NO_CLIENT)


@pytest.mark.parametrize(
    ("found", "require", "outcome"),
    [
        (["docker", "buildx", "build", "--load"], "", "docker buildx build --load"),
        (["/usr/bin/docker", "build"], "1", "/usr/bin/docker build"),
        (None, "", "skip"),
        (None, "1", "fail"),
    ],
)
def test_buildkit_client_is_testkits_or_a_skip_or_a_failure(
    monkeypatch: pytest.MonkeyPatch, found: list[str] | None, require: str, outcome: str
) -> None:
    """No engine needed: testkit.buildkit.buildkit_command is replaced."""
    monkeypatch.setattr(buildkit, "buildkit_command", lambda: found)
    monkeypatch.setenv("REQUIRE_DOCKER", require)
    if outcome in ("skip", "fail"):
        kind = pytest.skip.Exception if outcome == "skip" else pytest.fail.Exception
        with pytest.raises(kind, match=r"^no BuildKit client: neither `docker buildx` nor"):
            buildkit_client()
    else:
        assert " ".join(buildkit_client()) == outcome


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
        [*buildkit_client(), "--network", "host", *args, "-t", tag, str(context)],
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
