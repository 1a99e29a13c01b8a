"""scripts/ecr_push.sh end to end (moto's ECR API for the login password, a real registry),
its decisions against a stub docker CLI, and static checks of ecr_push.ps1 (no pwsh here)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra.image_tag import build_plan
from infra.paths import PROJECT_ROOT as REPO_ROOT
from testkit.engine import inspect, pip_build_args, untag_registry
from testkit.moto_server import MotoEcr
from testkit.registry import REGISTRY_USER, Registry
from tests.container.conftest import BuiltImage

SCRIPT = REPO_ROOT / "scripts" / "ecr_push.sh"
PS1 = REPO_ROOT / "scripts" / "ecr_push.ps1"
REGION = "us-east-1"
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# What the script reads from the environment, as its usage documents it.
ENV_READ = {"PYTHON", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "BASE_IMAGE"}
ENV_READ |= {"PIP_INDEX_URL", "BUILD_NETWORK"}
# A single-platform image's manifest, in either media type an engine may push.
MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, " + (
    "application/vnd.oci.image.manifest.v1+json"
)
STUB_REPO = "r.example/retail-api"
STUB_DIGEST = "sha256:" + "5e" * 32
# What the stub docker does: log every call; the manifest exists once $STUB_DIR/exists does.
STUB_DOCKER = """#!/bin/sh
echo "$*" >> "$STUB_DIR/calls"
case "$1" in
  login) cat >/dev/null ;;
  manifest) [ -f "$STUB_DIR/exists" ] || { echo "no such manifest" >&2; exit 1; }
            printf '{"Descriptor": {"digest": "%s"}}' "$STUB_DIGEST" ;;
  push) [ -z "$STUB_RACE" ] || touch "$STUB_DIR/exists"; [ -z "$STUB_PUSH_FAILS" ] || exit 1 ;;
  image) echo "$STUB_REPO@$STUB_DIGEST" ;;
esac
"""


def ecr_login_password(moto: MotoEcr) -> str:
    """The password `aws ecr get-login-password` will print, asked through the ECR API."""
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("ecr", region_name=REGION, endpoint_url=moto.endpoint, **keys)
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


def registry_api(registry: Registry, path: str, accept: str = "*/*") -> tuple[bytes, str]:
    """Docker Registry HTTP API V2, as the registry itself answers: body and content digest."""
    request = urllib.request.Request(
        f"http://{registry.host}/v2/{path}", headers={"Accept": accept}
    )
    credentials = base64.b64encode(f"{REGISTRY_USER}:{registry.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {credentials}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read(), response.headers.get("Docker-Content-Digest", "")


def registry_tags(registry: Registry, name: str) -> list[str]:
    tags: list[str] = json.loads(registry_api(registry, f"{name}/tags/list")[0])["tags"]
    return tags


@pytest.mark.container
def test_pushes_once_then_a_second_run_is_a_no_op_with_the_same_digest(
    ecr_registry: Registry, script_env: dict[str, str], built_image: BuiltImage, checkout: Path
) -> None:
    repo = f"{ecr_registry.host}/retail-api"
    base = built_image.build_args["BASE_IMAGE"]  # cached layers; stand-in when offline
    script_env = {**script_env, "BASE_IMAGE": base}
    result = run_script(checkout, repo, env=script_env)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout.strip()
    context = checkout / "server"
    expected_tag = build_plan(context, context / "Dockerfile", "linux/amd64", base_image=base).tag
    assert re.fullmatch(rf"{re.escape(repo)}@sha256:[0-9a-f]{{64}}", printed), printed
    assert f"pushing {repo}:{expected_tag}" in result.stderr
    assert registry_tags(ecr_registry, "retail-api") == [expected_tag]
    # The digest printed is the one the registry serves the tag by.
    _, served = registry_api(ecr_registry, f"retail-api/manifests/{expected_tag}", MANIFEST_TYPES)
    assert printed == f"{repo}@{served}"
    labels = inspect(f"{repo}:{expected_tag}")["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == expected_tag

    again = run_script(checkout, repo, env=script_env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already exists; same content tag, nothing to build or push" in again.stderr
    assert not re.search(r"building|pushing|pulling", again.stderr), again.stderr
    assert again.stdout.strip() == printed
    assert registry_tags(ecr_registry, "retail-api") == [expected_tag]


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


def tool_dir(tmp_path: Path, *, docker: bool, aws: bool = True) -> Path:
    """A PATH folder with bash, the tools the script calls, and maybe stub docker and aws."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "dirname", "sh", "cat", "touch", "grep", "head", "cut"):
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    if docker:
        (folder / "docker").write_text(STUB_DOCKER)
        (folder / "docker").chmod(0o755)
    if aws:
        (folder / "aws").write_text("#!/bin/sh\necho stub-password\n")
        (folder / "aws").chmod(0o755)
    return folder


def run_stubbed(
    checkout: Path, tmp_path: Path, env: dict[str, str], **stub: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The script against STUB_DOCKER; returns the result and the docker subcommands called."""
    stub_env = {"STUB_DIR": str(tmp_path), "STUB_DIGEST": STUB_DIGEST, "STUB_REPO": STUB_REPO}
    path = str(tool_dir(tmp_path, docker=True))
    result = run_script(checkout, STUB_REPO, env={**env, **stub_env, **stub, "PATH": path})
    calls = tmp_path / "calls"
    lines = calls.read_text().splitlines() if calls.exists() else []
    return result, [line.split()[0] for line in lines]


@pytest.mark.parametrize(
    ("exists", "expected"),
    [(True, ["login", "manifest"]), (False, ["login", "manifest", "build", "push", "image"])],
)
def test_an_existing_tag_is_never_built_or_pushed_and_a_new_one_is_pushed_once(
    tmp_path: Path,
    script_env: dict[str, str],
    checkout: Path,
    exists: bool,
    expected: list[str],
) -> None:
    if exists:
        (tmp_path / "exists").touch()
    result, calls = run_stubbed(checkout, tmp_path, script_env)
    assert (result.returncode, result.stdout) == (0, f"{STUB_REPO}@{STUB_DIGEST}\n")
    assert calls == expected


@pytest.mark.parametrize(("race", "code"), [("1", 0), ("", 1)])
def test_a_refused_push_is_a_success_only_if_the_tag_is_there_now(
    tmp_path: Path, script_env: dict[str, str], checkout: Path, race: str, code: int
) -> None:
    result, calls = run_stubbed(checkout, tmp_path, script_env, STUB_RACE=race, STUB_PUSH_FAILS="1")
    assert result.returncode == code, result.stderr
    assert calls.count("push") == 1
    assert result.stdout == (f"{STUB_REPO}@{STUB_DIGEST}\n" if race else "")
    assert race or "docker push r.example/retail-api:sha-" in result.stderr


def test_a_failing_build_args_step_stops_before_the_build(
    tmp_path: Path, script_env: dict[str, str], checkout: Path
) -> None:
    """`infra.image_tag --build-args` failing must end the script, not build without args."""
    wrapper = tmp_path / "python"
    wrapper.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = --build-args ] && { echo boom >&2; exit 3; }; done\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    wrapper.chmod(0o755)
    result, calls = run_stubbed(checkout, tmp_path, {**script_env, "PYTHON": str(wrapper)})
    assert result.returncode == 1
    assert "could not compute the build args" in result.stderr
    assert (calls, result.stdout) == (["login"], "")


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_usage_without_needing_any_tool(
    tmp_path: Path, checkout: Path, flag: str
) -> None:
    path = tool_dir(tmp_path, docker=False, aws=False)
    result = run_script(checkout, flag, env={"PATH": str(path)})  # no aws, no docker
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: scripts/ecr_push.sh [REPOSITORY_URL]\n")
    # Every variable the script reads is in the usage.
    read = set(re.findall(r"\$\{([A-Z_]+):-", SCRIPT.read_text()))
    assert read == ENV_READ
    assert all(name in result.stdout for name in read)


@pytest.mark.parametrize(
    ("tools", "drop", "args", "code", "message"),
    [
        ("docker aws", "", ("registry.example/no-tags:latest",), 1, "without tag or digest"),
        ("docker aws", "", ("no-slash",), 1, "must look like <registry>/<name>"),
        ("docker aws", "AWS_DEFAULT_REGION", ("127.0.0.1:1/repo",), 1, "set AWS_REGION"),
        ("docker aws", "", ("--bogus",), 2, "unknown option '--bogus' (see --help)"),
        ("docker aws", "", ("a.example/x", "b.example/y"), 2, "one repository URL only"),
        ("docker aws", "", (), 1, "no repository URL: pass it as the first argument"),
        ("aws", "", ("r.example/x",), 1, "docker is not installed or not on PATH"),
        ("docker", "", ("r.example/x",), 1, "the aws CLI is not installed"),
    ],
)
def test_bad_input_and_missing_tools_fail_with_a_clear_message(
    tmp_path: Path,
    script_env: dict[str, str],
    checkout: Path,
    tools: str,
    drop: str,
    args: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    path = tool_dir(tmp_path, docker="docker" in tools, aws="aws" in tools)
    assert shutil.which("pulumi", path=str(path)) is None
    env = {key: value for key, value in script_env.items() if key != drop}
    result = run_script(checkout, *args, env={**env, "PATH": str(path)})
    assert (result.returncode, result.stdout) == (code, "")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_powershell_script_follows_the_same_rules_as_the_bash_one() -> None:
    """Static checks (no pwsh here), first for the Windows PowerShell 5.1 stderr pitfall."""
    text = PS1.read_text()
    assert text.splitlines()[0] == "#Requires -Version 7.2"
    # Every redirected native stderr goes through the one helper that lifts 'Stop'.
    assert text.count("2>$null") == 1
    helper = text[text.index("function Invoke-NativeQuiet") :]
    helper = helper[: helper.index("\n}\n")]
    assert "$ErrorActionPreference = 'Continue'" in helper
    assert "2>$null" in helper
    # --help: -h/-Help bind the switch; `--help` is no parameter token, so it arrives as the URL.
    assert "[Alias('h')]\n    [switch]$Help" in text
    assert "if ($Help -or $RepositoryUrl -in @('--help', '/?')) {" in text
    assert text.index("Get-Help -Full $PSCommandPath") < text.index("Get-Command aws")
    # Same tag: the program's module, with BASE_IMAGE passed to it, never appended afterwards.
    assert "@('-m', 'infra.image_tag', '--context', $Context, '--platform', $Platform)" in text
    assert "$tagArgs += @('--base-image', $env:BASE_IMAGE)" in text
    for script in (text, SCRIPT.read_text()):
        assert not re.search(r"--build-arg[^\n]*BASE_IMAGE", script)
    # Look before you build: an existing tag ends the run before any build or push.
    look = text.index("$existing = Get-RegistryDigest")
    assert look < text.index("& docker build") < text.index("& docker push")
    assert "nothing to build or push" in text[look : text.index("& docker build")]
    # Every environment variable the bash usage documents is documented here too.
    usage = SCRIPT.read_text().split("Environment:")[1].split("EOF")[0]
    for name in re.findall(r"^  ([A-Z_]+)", usage, re.MULTILINE):
        assert name in text, name
