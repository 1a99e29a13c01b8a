"""scripts/ecr_push.sh against stub tools (no aws or docker needed): its decisions, --help,
one clear error for bad input; and static checks of ecr_push.ps1 against it (no pwsh here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.image_tag import build_plan
from tests.container.conftest import PUSH_SCRIPT, run_script

PS1 = PUSH_SCRIPT.with_suffix(".ps1")
# What the script reads from the environment, as its usage documents it.
ENV_READ = {"PYTHON", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "BASE_IMAGE"}
ENV_READ |= {"PIP_INDEX_URL", "BUILD_NETWORK"}
STUB_REPO = "r.example/retail-api"
STUB_DIGEST = "sha256:" + "5e" * 32
# `docker build --help` of a buildx CLI (excerpt) and of the legacy builder (Debian's 20.10).
BUILDX_HELP = (
    '      --provenance string   Shorthand for "--attest=type=provenance"\n'
    '      --sbom string         Shorthand for "--attest=type=sbom"\n'
)
LEGACY_HELP = "      --platform string   Set platform if server is multi-platform capable\n"
# What the stub docker does: log every call; the manifest exists once $STUB_DIR/exists does;
# `build --help` prints $STUB_BUILD_HELP.
STUB_DOCKER = """#!/bin/sh
echo "$*" >> "$STUB_DIR/calls"
case "$1" in
  login) cat >/dev/null ;;
  build) [ "$2" != --help ] || printf '%s' "$STUB_BUILD_HELP" ;;
  manifest) [ -f "$STUB_DIR/exists" ] || { echo "no such manifest" >&2; exit 1; }
            printf '{"Descriptor": {"digest": "%s"}}' "$STUB_DIGEST" ;;
  push) [ -z "$STUB_RACE" ] || touch "$STUB_DIR/exists"; [ -z "$STUB_PUSH_FAILS" ] || exit 1 ;;
  image) echo "$STUB_REPO@$STUB_DIGEST" ;;
  buildx) exit 1 ;;
esac
"""


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


def stubbed_calls(
    checkout: Path, tmp_path: Path, env: dict[str, str], *args: str, **stub: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The script (ARGS, then STUB_REPO) against STUB_DOCKER; the result and the docker calls."""
    stub_env = {"STUB_DIR": str(tmp_path), "STUB_DIGEST": STUB_DIGEST, "STUB_REPO": STUB_REPO}
    path = str(tool_dir(tmp_path, docker=True))
    result = run_script(checkout, *args, STUB_REPO, env={**env, **stub_env, **stub, "PATH": path})
    calls = tmp_path / "calls"
    return result, calls.read_text().splitlines() if calls.exists() else []


def run_stubbed(
    checkout: Path, tmp_path: Path, env: dict[str, str], **stub: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The script against STUB_DOCKER; returns the result and the docker subcommands called."""
    result, lines = stubbed_calls(checkout, tmp_path, env, **stub)
    return result, [line.split()[0] for line in lines]


@pytest.mark.parametrize(
    ("exists", "expected"),
    [
        (True, ["login", "manifest"]),
        # `build` twice: its --help (which flags it knows), then the build itself.
        (False, ["login", "manifest", "build", "build", "push", "image"]),
    ],
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


@pytest.mark.parametrize(
    ("args", "platform"),
    [
        ((), "linux/amd64"),
        (("--platform", "linux/arm64"), "linux/arm64"),
        (("--platform=linux/arm64/v8",), "linux/arm64/v8"),
        (("--platform", "linux/amd64"), "linux/amd64"),
    ],
)
def test_the_platform_goes_into_the_tag_and_the_build(
    tmp_path: Path,
    script_env: dict[str, str],
    checkout: Path,
    args: tuple[str, ...],
    platform: str,
) -> None:
    """`--platform` (default linux/amd64) is hashed into the tag, as `imagePlatform` is by the
    program, and is the platform docker builds for."""
    result, calls = stubbed_calls(checkout, tmp_path, script_env, *args)
    assert result.returncode == 0, result.stderr
    context = checkout / "server"
    tag = build_plan(context, context / "Dockerfile", platform, project_root=checkout).tag
    if platform != "linux/amd64":
        default = build_plan(context, context / "Dockerfile", "linux/amd64", project_root=checkout)
        assert tag != default.tag
    [build] = [call for call in calls if call.startswith("build --platform ")]
    assert build.startswith(f"build --platform {platform} ")
    assert f" --tag {STUB_REPO}:{tag} " in build
    assert f"building {STUB_REPO}:{tag} for {platform}" in result.stderr


@pytest.mark.parametrize(
    ("help_text", "flags"),
    [
        (BUILDX_HELP, "--provenance=false --sbom=false "),
        (LEGACY_HELP, ""),
        ("      --provenance string\n", "--provenance=false "),
    ],
    ids=["buildx", "legacy", "provenance-only"],
)
def test_attestations_are_turned_off_where_the_builder_knows_the_flags(
    tmp_path: Path, script_env: dict[str, str], checkout: Path, help_text: str, flags: str
) -> None:
    """A buildx build would otherwise push an index (image + attestation manifest); the
    legacy builder attaches none and would refuse the flags."""
    result, calls = stubbed_calls(checkout, tmp_path, script_env, STUB_BUILD_HELP=help_text)
    assert result.returncode == 0, result.stderr
    assert "build --help" in calls
    [build] = [call for call in calls if call.startswith("build --platform ")]
    assert build.startswith(f"build --platform linux/amd64 {flags}--network host --build-arg ")
    assert build.count("--provenance") + build.count("--sbom") == flags.count("=false")


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
    assert result.stdout.startswith(
        "Usage: scripts/ecr_push.sh [--platform PLATFORM[,PLATFORM]] [REPOSITORY_URL]\n"
    )
    assert "  --platform PLATFORM[,PLATFORM]\n" in result.stdout
    assert "linux/amd64 (default)" in result.stdout
    # Every variable the script reads is in the usage.
    read = set(re.findall(r"\$\{([A-Z_]+):-", PUSH_SCRIPT.read_text()))
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
        (
            "docker aws",
            "",
            ("--platform", "windows/amd64", "r.example/x"),
            2,
            "--platform must be linux/amd64, linux/arm64 or linux/arm64/v8 (comma-separated "
            "for several), got 'windows/amd64'",
        ),
        (
            "docker aws",
            "",
            ("--platform", "linux/arm64,linux/arm64/v8", "r.example/x"),
            2,
            "--platform lists arm64 twice ('linux/arm64,linux/arm64/v8'); list each "
            "architecture once",
        ),
        ("docker aws", "", ("r.example/x", "--platform"), 2, "--platform needs a value"),
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
    # -Platform, default linux/amd64, checked like --platform and used for tag and build alike.
    assert "[string]$Platform = 'linux/amd64'," in text
    assert ".PARAMETER Platform\n" in text
    check = "if ($one -cnotin @('linux/amd64', 'linux/arm64', 'linux/arm64/v8')) {"
    assert text.index(check) < text.index("Get-Command aws")
    assert "$Platform = 'linux/amd64'\n" not in text
    assert "& docker build --platform $Platform @attestationArgs @buildArgs" in text
    # Attestations off exactly where the builder's help lists the flags, as in the bash script.
    assert "@(Invoke-NativeQuiet 'docker' @('build', '--help')) -join" in text
    for flag in ("provenance", "sbom"):
        check = f"if ($buildHelp.Contains('--{flag}')) {{ $attestationArgs += '--{flag}=false' }}"
        assert check in text
        assert text.index(check) < text.index("& docker build --platform")
    assert "$tagArgs += @('--base-image', $env:BASE_IMAGE)" in text
    for script in (text, PUSH_SCRIPT.read_text()):
        assert not re.search(r"--build-arg[^\n]*BASE_IMAGE", script)
    # Look before you build: an existing tag ends the run before any build or push.
    look = text.index("$existing = Get-RegistryDigest")
    assert look < text.index("& docker build") < text.index("& docker push")
    assert "nothing to build or push" in text[look : text.index("& docker build")]
    # Every environment variable the bash usage documents is documented here too.
    usage = PUSH_SCRIPT.read_text().split("Environment:")[1].split("EOF")[0]
    for name in re.findall(r"^  ([A-Z_]+)", usage, re.MULTILINE):
        assert name in text, name
