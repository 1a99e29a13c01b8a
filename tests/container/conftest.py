"""Session fixtures for the image tests: engine, base, build, running container, registry, moto,
and the push script run from a snapshot of the checkout.

Expensive things are built once per session and shared. Without a reachable engine the
tests skip, unless REQUIRE_DOCKER=1 (as CI sets), which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.paths import PROJECT_ROOT, SERVER_DIR
from testkit.base_image import ensure_base_image
from testkit.engine import (
    Build,
    DockerError,
    build_image,
    docker,
    engine_problem,
    inspect,
    pip_build_args,
    untag_registry,
)
from testkit.moto_server import MotoEcr
from testkit.net import free_port
from testkit.registry import Registry

IMAGE_REPO = "retail-api"
# Label values the tests look for; distinct from the Dockerfile's defaults on purpose.
LABEL_ARGS = {
    "TITLE": "retail-api-under-test",
    "SOURCE": "https://example.test/retail-registry.git",
    "VERSION": "9.9.9-test",
    "REVISION": "sha-0123456789ab",
}
# Which OCI label each build arg feeds.
OCI_LABEL_FOR_ARG = {
    "TITLE": "org.opencontainers.image.title",
    "SOURCE": "org.opencontainers.image.source",
    "VERSION": "org.opencontainers.image.version",
    "REVISION": "org.opencontainers.image.revision",
}


def _context_copy(destination: Path) -> Path:
    """The server/ build context copied, so tests can edit code without touching the tree."""
    shutil.copytree(
        SERVER_DIR,
        destination,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".mypy_cache"),
    )
    return destination


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A reachable engine, with a private DOCKER_CONFIG so `docker login` leaves no trace."""
    problem = engine_problem()
    if problem is not None:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 but {problem}")
        pytest.skip(problem)
    previous = os.environ.get("DOCKER_CONFIG")
    os.environ["DOCKER_CONFIG"] = str(tmp_path_factory.mktemp("docker-config"))
    yield
    if previous is None:
        os.environ.pop("DOCKER_CONFIG", None)
    else:
        os.environ["DOCKER_CONFIG"] = previous


@pytest.fixture(scope="session")
def base_image(engine: None) -> str:
    return ensure_base_image()


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    build: Build
    context: Path
    build_args: dict[str, str]


@pytest.fixture(scope="session")
def built_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """The production image, built from a copy of server/ on the chosen base."""
    context = _context_copy(tmp_path_factory.mktemp("ctx") / "server")
    args = {"BASE_IMAGE": base_image, **pip_build_args(), **LABEL_ARGS}
    # A fixed tag keeps the classic builder's layer cache alive between local runs.
    tag = f"{IMAGE_REPO}:test"
    return BuiltImage(
        tag=tag, build=build_image(context, tag, args), context=context, build_args=args
    )


@dataclass
class RunningContainer:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def run_container(image: str, *flags: str) -> RunningContainer:
    """`docker run -d` publishing 8000 on a free loopback port."""
    name = f"retail-api-test-{secrets.token_hex(4)}"
    port = free_port()
    docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", *flags, image)
    return RunningContainer(name=name, port=port)


def remove_container(name: str) -> None:
    with contextlib.suppress(DockerError):  # already gone
        docker("rm", "--force", name, timeout=30)


@pytest.fixture(scope="session")
def hardened_container(built_image: BuiltImage) -> Iterator[RunningContainer]:
    """The image as production runs it: read-only root, tmpfs /tmp, no capabilities."""
    running = run_container(
        built_image.tag,
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    )
    yield running
    remove_container(running.name)


@pytest.fixture
def plain_container(built_image: BuiltImage) -> Iterator[RunningContainer]:
    """A container the test may stop or kill."""
    running = run_container(built_image.tag)
    yield running
    remove_container(running.name)


@pytest.fixture(scope="session")
def registry(engine: None) -> Iterator[Registry]:
    """A registry on loopback demanding user AWS and a random token, as ECR does."""
    reg = Registry().start()
    reg.login()
    yield reg
    untag_registry(reg.host)
    reg.stop()


@pytest.fixture(scope="session")
def moto_ecr() -> Iterator[MotoEcr]:
    server = MotoEcr().start()
    yield server
    server.stop()


def inspect_state(name: str) -> dict[str, object]:
    state: dict[str, object] = inspect(name)["State"]
    return state


# --- scripts/ecr_push.sh, run from a snapshot of the checkout ----------------------------------

PUSH_SCRIPT = PROJECT_ROOT / "scripts" / "ecr_push.sh"
PUSH_REGION = "us-east-1"


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the script uses, copied: a snapshot no concurrent edit can change mid-test."""
    root = tmp_path_factory.mktemp("checkout")
    skip = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".mypy_cache")
    for folder in ("scripts", "infra", "server"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, ignore=skip)
    shutil.copy2(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def run_script(checkout: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`bash scripts/ecr_push.sh ARGS` in the snapshot, with exactly the environment `env`."""
    return subprocess.run(
        ["bash", str(checkout / PUSH_SCRIPT.relative_to(PROJECT_ROOT)), *args],
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
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_ecr.endpoint,
        "AWS_DEFAULT_REGION": PUSH_REGION,
        "PYTHON": sys.executable,
        # As the session build got it, so the script's build reuses the dependency layer.
        **pip_build_args(),
        "BUILD_NETWORK": "host",
        "DOCKER_BUILDKIT": "0",
    }
