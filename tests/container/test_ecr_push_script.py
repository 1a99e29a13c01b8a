"""scripts/ecr_push.sh end to end: moto's ECR API for the login password, a real registry."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra.image_tag import build_plan
from infra.paths import PROJECT_ROOT as REPO_ROOT
from testkit.engine import docker, inspect, pip_build_args, untag_registry
from testkit.moto_server import MotoEcr
from testkit.registry import Registry
from tests.container.conftest import BuiltImage

SCRIPT = REPO_ROOT / "scripts" / "ecr_push.sh"
REGION = "us-east-1"
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def ecr_login_password(moto: MotoEcr) -> str:
    """The password `aws ecr get-login-password` will print, asked through the ECR API."""
    client = boto3.client(
        "ecr",
        region_name=REGION,
        endpoint_url=moto.endpoint,
        **{
            "aws_access_key_id": FAKE_KEYS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_KEYS["AWS_SECRET_ACCESS_KEY"],
        },
    )
    token = client.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    return password


@pytest.fixture(scope="module")
def ecr_registry(moto_ecr: MotoEcr, engine: None) -> Iterator[Registry]:
    """A registry whose only valid password is the ECR login password moto hands out."""
    registry = Registry(password=ecr_login_password(moto_ecr)).start()
    yield registry
    untag_registry(registry.host)
    registry.stop()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the script uses, copied: a snapshot no concurrent edit can change mid-test."""
    root = tmp_path_factory.mktemp("checkout")
    skip = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".mypy_cache")
    for folder in ("scripts", "infra", "server"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=skip)
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def run_script(checkout: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(checkout / SCRIPT.relative_to(REPO_ROOT)), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
        check=False,
    )


@pytest.fixture
def script_env(moto_ecr: MotoEcr) -> dict[str, str]:
    """The caller's environment minus any real AWS settings, aimed at moto."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return {
        **env,
        **FAKE_KEYS,
        "AWS_ENDPOINT_URL": moto_ecr.endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "PYTHON": sys.executable,
        # As the session build got it, so the script's build reuses the dependency layer.
        **pip_build_args(),
        "BUILD_NETWORK": "host",
        "DOCKER_BUILDKIT": "0",
    }


@pytest.mark.container
def test_pushes_with_the_ecr_password_and_prints_the_digest(
    ecr_registry: Registry, script_env: dict[str, str], built_image: BuiltImage, checkout: Path
) -> None:
    repo = f"{ecr_registry.host}/retail-api"
    # Same base as the session image, so the dependency layer comes from the build cache.
    script_env = {**script_env, "BASE_IMAGE": built_image.build_args["BASE_IMAGE"]}
    result = run_script(checkout, repo, env=script_env)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout.strip()
    context = checkout / "server"
    expected_tag = build_plan(context, context / "Dockerfile", "linux/amd64").tag
    assert re.fullmatch(rf"{re.escape(repo)}@sha256:[0-9a-f]{{64}}", printed), printed
    assert f"{repo}:{expected_tag}" in result.stderr
    # The digest printed is the one the registry serves for the content tag.
    manifest = docker(
        "manifest", "inspect", "--insecure", "--verbose", f"{repo}:{expected_tag}", timeout=60
    )
    assert printed.split("@")[1] in manifest
    labels = inspect(f"{repo}:{expected_tag}")["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == expected_tag

    again = run_script(checkout, repo, env=script_env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing to push" in again.stderr
    # The digest came from the manifest alone: the image was not pulled.
    assert "pulling" not in again.stderr
    assert again.stdout.strip() == printed


@pytest.mark.container
def test_wrong_ecr_password_fails_the_login(
    script_env: dict[str, str], engine: None, checkout: Path
) -> None:
    other = Registry().start()  # random token: moto's password is not it
    try:
        result = run_script(checkout, f"{other.host}/retail-api", env=script_env)
    finally:
        other.stop()
    assert result.returncode != 0
    assert "docker login" in result.stderr


@pytest.mark.parametrize(
    ("drop", "args", "message"),
    [
        ("", ("registry.example/no-tags:latest",), "without tag or digest"),
        ("", ("no-slash",), "must look like <registry>/<name>"),
        ("AWS_DEFAULT_REGION", ("127.0.0.1:1/repo",), "set AWS_REGION"),
    ],
)
def test_bad_input_fails_with_a_clear_message(
    script_env: dict[str, str], checkout: Path, drop: str, args: tuple[str, ...], message: str
) -> None:
    env = {key: value for key, value in script_env.items() if key != drop}
    result = run_script(checkout, *args, env=env)
    assert result.returncode == 1
    assert message in result.stderr


def test_missing_tools_are_named(
    tmp_path: Path, script_env: dict[str, str], checkout: Path
) -> None:
    # A PATH with bash but neither aws nor docker.
    (tmp_path / "bash").symlink_to(Path("/bin/bash"))
    result = run_script(checkout, "r.example/x", env={**script_env, "PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "aws CLI is not installed" in result.stderr


def tool_dir(tmp_path: Path, *, docker_cli: bool) -> Path:
    """A PATH folder with bash, the coreutils the script calls, a stub aws, maybe docker."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "dirname"):
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    if docker_cli:
        found = shutil.which("docker")
        if found is None:
            pytest.skip("docker CLI not on PATH")
        (folder / "docker").symlink_to(found)
    aws = folder / "aws"
    aws.write_text("#!/bin/sh\necho stub-password\n")
    aws.chmod(0o755)
    return folder


def test_missing_docker_is_named(
    tmp_path: Path, script_env: dict[str, str], checkout: Path
) -> None:
    path = tool_dir(tmp_path, docker_cli=False)
    result = run_script(checkout, "r.example/x", env={**script_env, "PATH": str(path)})
    assert result.returncode == 1
    assert "docker is not installed or not on PATH" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_url_and_no_pulumi_is_a_clear_error(
    tmp_path: Path, script_env: dict[str, str], checkout: Path
) -> None:
    path = tool_dir(tmp_path, docker_cli=True)
    assert shutil.which("pulumi", path=str(path)) is None
    result = run_script(checkout, env={**script_env, "PATH": str(path)})
    assert result.returncode == 1
    assert "no repository URL: pass it as the first argument" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.container
def test_a_failing_build_args_step_stops_before_the_build(
    ecr_registry: Registry, script_env: dict[str, str], checkout: Path, tmp_path: Path
) -> None:
    """`infra.image_tag --build-args` failing must end the script, not build without args."""
    wrapper = tmp_path / "python"
    wrapper.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = --build-args ] && { echo boom >&2; exit 3; }; done\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    wrapper.chmod(0o755)
    repo = f"{ecr_registry.host}/retail-api"
    result = run_script(checkout, repo, env={**script_env, "PYTHON": str(wrapper)})
    assert result.returncode == 1, result.stderr[-3000:]
    assert "could not compute the build args" in result.stderr
    assert "building" not in result.stderr
    assert result.stdout == ""


def test_powershell_script_requires_7_2_and_quiets_stderr_safely() -> None:
    """No pwsh here: a static guard for the Windows PowerShell 5.1 stderr pitfall."""
    text = (REPO_ROOT / "scripts" / "ecr_push.ps1").read_text()
    assert text.splitlines()[0] == "#Requires -Version 7.2"
    # Every redirected native stderr goes through the one helper that lifts 'Stop'.
    assert text.count("2>$null") == 1
    helper = text[text.index("function Invoke-NativeQuiet") :]
    helper = helper[: helper.index("\n}\n")]
    assert "$ErrorActionPreference = 'Continue'" in helper
    assert "2>$null" in helper
    assert "BASE_IMAGE is FOR OFFLINE TESTS ONLY" in text
    assert "could not compute the build args" in text
