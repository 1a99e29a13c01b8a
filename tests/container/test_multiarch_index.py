"""One reference, two architectures, on the real engine: both platforms built, pushed to the
local registry, the index published by the program's own code, then pulled and run by the index
digest for each platform.

The arm64 build and run go through qemu-user-static and binfmt_misc (Debian's Docker 20.10 has
no buildx: one BuildKit build per platform, then the index). The arm64 stand-in base is made
once per engine (testkit/base_image.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.multiarch.publish import Published, publish
from infra.oci import DOCKER_MANIFEST_LIST, parse_json
from infra.paths import SERVER_DIR
from infra.promotion.auth import Credentials
from infra.promotion.client import RegistryClient
from infra.promotion.refs import Repository
from infra.promotion.run import Logins
from retail_api.schemas import EXAMPLE_BASKET
from testkit.base_image import emulation_problem, ensure_platform_base
from testkit.buildkit import buildkit_build
from testkit.engine import docker, inspect, pip_build_args
from testkit.net import wait_for
from testkit.registry import REGISTRY_USER, Registry
from tests.container.conftest import (
    RunningContainer,
    inspect_state,
    remove_container,
    run_container,
)
from tests.container.test_image_runtime import http_json

pytestmark = pytest.mark.container

PLATFORMS = ("linux/amd64", "linux/arm64")
TAG = "sha-0123456789ab"
REPOSITORY = "retail-api-multi"
# Under emulation the interpreter starts several times slower than natively; the wait is
# for the first `healthy`, and an `unhealthy` fails at once.
HEALTHY_WAIT_SECONDS = 180
BASKETS: list[dict[str, Any]] = [
    EXAMPLE_BASKET,
    {**EXAMPLE_BASKET, "BASKET_SIZE": "L", "SPEND": 310.0, "QUANTITY": 12},
    {**EXAMPLE_BASKET, "BASKET_SIZE": "S", "STORE_FORMAT": "SS", "SPEND": 4.2, "QUANTITY": 1},
]


@dataclass(frozen=True)
class PublishedIndex:
    registry: Registry
    repository: Repository
    children: dict[str, str]
    published: Published

    @property
    def ref(self) -> str:
        return f"{self.repository}@{self.published.digest}"

    def client(self) -> RegistryClient:
        return RegistryClient(
            self.repository,
            Credentials(REGISTRY_USER, self.registry.password),
            plain_http=True,
        )


@pytest.fixture(scope="session")
def emulation(engine: None) -> None:
    problem = emulation_problem("linux/arm64")
    if problem is not None:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 but {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def multiarch_index(
    emulation: None, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> PublishedIndex:
    """Each platform built on its stand-in base and pushed as `<tag>-<arch>`, then the index
    published under the tag with `infra.multiarch.publish` (what the program's resource runs)."""
    context = tmp_path_factory.mktemp("multiarch") / "server"
    shutil.copytree(SERVER_DIR, context, ignore=shutil.ignore_patterns("__pycache__"))
    repository = Repository(registry.host, REPOSITORY)
    children: dict[str, str] = {}
    for platform in PLATFORMS:
        arch = platform.split("/")[1]
        ref = f"{repository}:{TAG}-{arch}"
        args = {"BASE_IMAGE": ensure_platform_base(platform), "REVISION": TAG, **pip_build_args()}
        buildkit_build(context, ref, args, extra=["--platform", platform])
        docker("push", ref, timeout=900)
        digests = [d for d in inspect(ref)["RepoDigests"] if d.startswith(f"{repository}@")]
        children[platform] = digests[0].split("@", 1)[1]
    logins = Logins(None, {registry.host: Credentials(REGISTRY_USER, registry.password)})
    published = publish(f"{repository}:{TAG}", children, logins, plain_http=True)
    return PublishedIndex(registry, repository, children, published)


@pytest.fixture(scope="session")
def pulled(multiarch_index: PublishedIndex) -> Iterator[dict[str, RunningContainer]]:
    """One container per platform, each `docker run --pull always --platform` of the one
    index reference."""
    # The builds' own tags go first, so each image comes from the registry, not the build.
    for platform in PLATFORMS:
        docker("rmi", f"{multiarch_index.repository}:{TAG}-{platform.split('/')[1]}")
    running: dict[str, RunningContainer] = {}
    try:
        for platform in PLATFORMS:
            running[platform] = run_container(
                multiarch_index.ref, "--pull", "always", "--platform", platform
            )
            # A Docker 20.10 store keeps one image per reference: the index digest's reference
            # to this platform's image must go before the next platform's pull can set it
            # ("Cannot overwrite digest"). The running container keeps its image.
            docker("rmi", "--force", multiarch_index.ref)
        yield running
    finally:
        for container in running.values():
            remove_container(container.name)


def test_the_index_lists_both_platforms_under_the_tag(multiarch_index: PublishedIndex) -> None:
    client = multiarch_index.client()
    try:
        assert client.manifest_digest(TAG) == multiarch_index.published.digest
        data, media_type = client.manifest(multiarch_index.published.digest)
    finally:
        client.close()
    index = parse_json(data, "index")
    assert media_type == DOCKER_MANIFEST_LIST
    assert [
        (m["platform"]["os"], m["platform"]["architecture"], m["digest"])
        for m in index["manifests"]
    ] == [
        ("linux", "amd64", multiarch_index.children["linux/amd64"]),
        ("linux", "arm64", multiarch_index.children["linux/arm64"]),
    ]
    assert multiarch_index.published.digest not in multiarch_index.children.values()


def test_publishing_again_writes_nothing(multiarch_index: PublishedIndex) -> None:
    logins = Logins(
        None,
        {
            multiarch_index.registry.host: Credentials(
                REGISTRY_USER, multiarch_index.registry.password
            )
        },
    )
    again = publish(
        f"{multiarch_index.repository}:{TAG}",
        multiarch_index.children,
        logins,
        plain_http=True,
    )
    assert (again.digest, again.published) == (multiarch_index.published.digest, False)


def test_the_arm64_child_config_says_arm64(multiarch_index: PublishedIndex) -> None:
    client = multiarch_index.client()
    try:
        for platform, arch in (("linux/arm64", "arm64"), ("linux/amd64", "amd64")):
            data, _ = client.manifest(multiarch_index.children[platform])
            config_digest = parse_json(data, "manifest")["config"]["digest"]
            with client.download_blob(config_digest) as blob:
                config = parse_json(blob.read(), "config")
            assert (config["os"], config["architecture"]) == ("linux", arch)
    finally:
        client.close()


def test_both_platforms_pulled_by_the_index_digest_run_their_own_image(
    multiarch_index: PublishedIndex, pulled: dict[str, RunningContainer]
) -> None:
    for platform, container in pulled.items():
        image_id = inspect(container.name)["Image"]
        assert inspect(image_id)["Architecture"] == platform.split("/")[1]


def test_both_start_healthy_and_predict_identically(pulled: dict[str, RunningContainer]) -> None:
    for container in pulled.values():

        def healthy(name: str = container.name) -> bool:
            health = inspect_state(name).get("Health")
            assert isinstance(health, dict)
            assert health["Status"] != "unhealthy", health
            return bool(health["Status"] == "healthy")

        wait_for(healthy, timeout=HEALTHY_WAIT_SECONDS, interval=0.5)
    answers: dict[str, list[Any]] = {}
    for platform, container in pulled.items():
        answers[platform] = []
        for basket in BASKETS:
            status, body = http_json(f"{container.url}/predict", basket)
            assert status == 200, (platform, basket, body)
            answers[platform].append((body["prediction"], body["probability"]))
    assert answers["linux/arm64"] == answers["linux/amd64"]
    for _, probability in answers["linux/amd64"]:
        assert set(probability) == {"Low", "Medium", "High"}


def test_the_stand_in_bases_are_one_per_platform(emulation: None) -> None:
    bases = {platform: ensure_platform_base(platform) for platform in PLATFORMS}
    assert len(set(bases.values())) == 2
    assert inspect(bases["linux/arm64"])["Architecture"] == "arm64"
