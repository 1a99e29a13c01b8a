"""scripts/ecr_push.sh with several platforms, against stub tools: one build and push per
platform under <tag>-<arch>, then the index published by `python -m infra.multiarch`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from infra.image_tag import build_plan
from tests.container.test_ecr_push_script import PS1, STUB_DIGEST, STUB_REPO, stubbed_calls

INDEX_DIGEST = "sha256:" + "1d" * 32
TWO = "linux/amd64,linux/arm64"


def publish_stub(tmp_path: Path) -> Path:
    """PYTHON for the script: the real interpreter, except `-m infra.multiarch publish`, which
    records its arguments and stdin and prints what the real command prints."""
    wrapper = tmp_path / "python"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$2" = infra.multiarch ] && [ "$3" = publish ]; then\n'
        f'  echo "$*" > "{tmp_path}/publish"; cat > "{tmp_path}/password"\n'
        f'  echo "{STUB_REPO}@{INDEX_DIGEST}"; exit 0\n'
        "fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def test_two_platforms_build_each_child_and_publish_one_index(
    tmp_path: Path, script_env: dict[str, str], checkout: Path
) -> None:
    env = {**script_env, "PYTHON": str(publish_stub(tmp_path))}
    result, calls = stubbed_calls(checkout, tmp_path, env, "--platform", TWO)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{STUB_REPO}@{INDEX_DIGEST}\n"
    context = checkout / "server"
    tag = build_plan(
        context, context / "Dockerfile", ["linux/amd64", "linux/arm64"], project_root=checkout
    ).tag
    builds = [call for call in calls if call.startswith("build --platform ")]
    assert [call.split()[2] for call in builds] == ["linux/amd64", "linux/arm64"]
    assert f" --tag {STUB_REPO}:{tag}-amd64 " in builds[0]
    assert f" --tag {STUB_REPO}:{tag}-arm64 " in builds[1]
    # Both children carry the index's content tag as their revision label.
    assert all(f"--build-arg REVISION={tag} " in build for build in builds)
    assert [call for call in calls if call.startswith("push ")] == [
        f"push {STUB_REPO}:{tag}-amd64",
        f"push {STUB_REPO}:{tag}-arm64",
    ]
    published = (tmp_path / "publish").read_text().split()
    assert published[published.index("--destination") + 1] == f"{STUB_REPO}:{tag}"
    assert published[published.index("publish") + 1 :] == [
        "--destination",
        f"{STUB_REPO}:{tag}",
        "--child",
        f"linux/amd64={STUB_DIGEST}",
        "--child",
        f"linux/arm64={STUB_DIGEST}",
    ]
    # The ECR password reaches the publisher through the pipe only.
    assert (tmp_path / "password").read_text() == "stub-password\n"
    assert "stub-password" not in (tmp_path / "publish").read_text()


def test_an_existing_index_tag_builds_and_publishes_nothing(
    tmp_path: Path, script_env: dict[str, str], checkout: Path
) -> None:
    (tmp_path / "exists").touch()
    env = {**script_env, "PYTHON": str(publish_stub(tmp_path))}
    result, calls = stubbed_calls(checkout, tmp_path, env, "--platform", TWO)
    assert (result.returncode, result.stdout) == (0, f"{STUB_REPO}@{STUB_DIGEST}\n")
    assert [call.split()[0] for call in calls] == ["login", "manifest"]
    assert not (tmp_path / "publish").exists()


@pytest.mark.parametrize("platforms", ["linux/amd64,linux/arm64", "linux/arm64,linux/amd64"])
def test_the_set_and_its_order_choose_the_tag(
    tmp_path: Path, script_env: dict[str, str], checkout: Path, platforms: str
) -> None:
    env = {**script_env, "PYTHON": str(publish_stub(tmp_path))}
    result, calls = stubbed_calls(checkout, tmp_path, env, "--platform", platforms)
    assert result.returncode == 0, result.stderr
    context = checkout / "server"
    listed = platforms.split(",")
    tag = build_plan(context, context / "Dockerfile", listed, project_root=checkout).tag
    builds = [call.split()[2] for call in calls if call.startswith("build --platform ")]
    assert builds == listed
    published = (tmp_path / "publish").read_text()
    assert f"--destination {STUB_REPO}:{tag} --child {listed[0]}=" in published


def test_powershell_script_publishes_several_platforms_the_same_way() -> None:
    """Static checks (no pwsh here) that ecr_push.ps1 takes the same steps as the bash one."""
    text = PS1.read_text()
    assert "$Platforms = @($Platform.Split(','))" in text
    assert "list each architecture once" in text
    assert (
        "$tagArgs = @('-m', 'infra.multiarch', 'tag', '--context', $Context, '--platforms', "
        "$Platform)"
    ) in text
    # Each child under <tag>-<arch>, reused when the registry holds it, built otherwise.
    assert "$childTag = \"$Tag-$($one.Split('/')[1])\"" in text
    loop = text[text.index("foreach ($one in $Platforms) {\n    $childTag") :]
    assert loop.index("Get-RegistryDigest") < loop.index("Publish-Build $childTag $one")
    # The index by the program's publisher, the password through the pipe only.
    assert (
        "& aws ecr get-login-password @awsArgs | & $Python -m infra.multiarch publish "
        "--destination $Ref @children @publishArgs"
    ) in text
    assert "$env:DOCKER_BUILDKIT = '1'" in text
    # An existing index tag ends the run before any build.
    assert text.index("$existing = Get-RegistryDigest") < text.index(
        "foreach ($one in $Platforms) {\n    $childTag"
    )
