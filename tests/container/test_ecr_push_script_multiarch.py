"""scripts/ecr_push.sh --platform linux/amd64,linux/arm64 end to end: moto's ECR API hands out
the password, a real registry takes both children and the index, and a second run does nothing.

The base is what production has: one multi-platform reference. Here it is the two stand-in
bases pushed to the registry and joined by an index (the project's own publisher), so each
platform's build pulls its own base through that one reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.image_tag import build_plan
from infra.multiarch.publish import publish
from infra.oci import DOCKER_MANIFEST_LIST
from infra.promotion.auth import Credentials
from infra.promotion.run import Logins
from testkit.base_image import emulation_problem, ensure_platform_base
from testkit.buildkit import LEGACY_CLI
from testkit.engine import docker, inspect, untag_registry
from testkit.moto_server import MotoEcr
from testkit.registry import REGISTRY_USER, Registry
from tests.container.conftest import run_script
from tests.container.test_ecr_push_script_registry import (
    ecr_login_password,
    registry_api,
    registry_tags,
    served_manifest,
)

pytestmark = pytest.mark.container

PLATFORMS = ("linux/amd64", "linux/arm64")


@pytest.fixture(scope="module")
def ecr_registry(moto_ecr: MotoEcr, engine: None) -> Iterator[Registry]:
    """A registry whose only valid password is the ECR login password moto hands out."""
    if emulation_problem("linux/arm64") is not None:
        pytest.skip(str(emulation_problem("linux/arm64")))
    registry = Registry(password=ecr_login_password(moto_ecr)).start()
    registry.login()
    yield registry
    untag_registry(registry.host)
    registry.stop()


@pytest.fixture(scope="module")
def multi_platform_base(ecr_registry: Registry) -> str:
    """`<registry>/python-base@sha256:<index>` over the two stand-in bases."""
    children = {}
    for platform in PLATFORMS:
        arch = platform.split("/")[1]
        ref = f"{ecr_registry.host}/python-base:{arch}"
        docker("tag", ensure_platform_base(platform), ref)
        docker("push", ref, timeout=600)
        found = [d for d in inspect(ref)["RepoDigests"] if d.startswith(f"{ecr_registry.host}/")]
        children[platform] = found[0].split("@", 1)[1]
    logins = Logins(None, {ecr_registry.host: Credentials(REGISTRY_USER, ecr_registry.password)})
    index = publish(f"{ecr_registry.host}/python-base:bookworm", children, logins, plain_http=True)
    return f"{ecr_registry.host}/python-base@{index.digest}"


def test_two_platforms_publish_one_index_then_a_second_run_is_a_no_op(
    ecr_registry: Registry,
    multi_platform_base: str,
    script_env: dict[str, str],
    checkout: Path,
) -> None:
    repo = f"{ecr_registry.host}/retail-api-multi"
    # Debian's docker.io 20.10 CLI first on PATH: BuildKit built in, no buildx needed.
    legacy = checkout.parent / "legacy-cli"
    legacy.mkdir(exist_ok=True)
    if not (legacy / "docker").exists():
        (legacy / "docker").symlink_to(LEGACY_CLI)
    env = {
        **script_env,
        "BASE_IMAGE": multi_platform_base,
        "PATH": f"{legacy}:{script_env['PATH']}",
    }
    result = run_script(checkout, "--platform", ",".join(PLATFORMS), repo, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    context = checkout / "server"
    tag = build_plan(
        context, context / "Dockerfile", list(PLATFORMS), base_image=multi_platform_base
    ).tag
    printed = result.stdout.strip()
    assert re.fullmatch(rf"{re.escape(repo)}@sha256:[0-9a-f]{{64}}", printed), printed
    assert sorted(registry_tags(ecr_registry, "retail-api-multi")) == [
        tag,
        f"{tag}-amd64",
        f"{tag}-arm64",
    ]
    index = served_manifest(ecr_registry, "retail-api-multi", tag)
    assert index["mediaType"] == DOCKER_MANIFEST_LIST
    _, served = registry_api(
        ecr_registry, f"retail-api-multi/manifests/{tag}", DOCKER_MANIFEST_LIST
    )
    assert printed == f"{repo}@{served}"
    for entry, platform in zip(index["manifests"], PLATFORMS, strict=True):
        arch = platform.split("/")[1]
        assert entry["platform"] == {"architecture": arch, "os": "linux"}
        _, child = registry_api(
            ecr_registry, f"retail-api-multi/manifests/{tag}-{arch}", entry["mediaType"]
        )
        assert entry["digest"] == child
        assert inspect(f"{repo}:{tag}-{arch}")["Architecture"] == arch

    again = run_script(checkout, "--platform", ",".join(PLATFORMS), repo, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already exists; same content tag, nothing to build or push" in again.stderr
    assert not re.search(r"building|publishing", again.stderr), again.stderr
    assert again.stdout.strip() == printed
