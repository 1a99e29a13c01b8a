"""scripts/ecr_promote.sh end to end: moto's ECR API hands out the login password, a real
"dev" registry holds an image the engine pushed, a real "prod" registry receives the copy."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from infra.paths import PROJECT_ROOT
from testkit.engine import docker
from testkit.moto_server import MotoEcr
from testkit.registry import REGISTRY_USER, Registry
from tests.container.conftest import PUSH_REGION

pytestmark = pytest.mark.container

SCRIPT = PROJECT_ROOT / "scripts" / "ecr_promote.sh"
DEV_REPO = "mlops-dev/retail-api"
PROD_REPO = "mlops/retail-api"
TAG = "sha-5c41b7ed0000"
ACCEPT = (
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
)


def moto_password(moto: MotoEcr) -> str:
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("ecr", region_name=PUSH_REGION, endpoint_url=moto.endpoint, **keys)
    token = client.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().partition(":")[2]


def manifest(registry: Registry, repo: str, reference: str) -> tuple[bytes, str]:
    answer = requests.get(
        f"http://{registry.host}/v2/{repo}/manifests/{reference}",
        headers={"Accept": ACCEPT},
        auth=(REGISTRY_USER, registry.password),
        timeout=60,
    )
    answer.raise_for_status()
    return answer.content, answer.headers["Docker-Content-Digest"]


def run(checkout: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(checkout / "scripts" / SCRIPT.name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def registries(moto_ecr: MotoEcr, engine: None) -> Iterator[tuple[Registry, Registry]]:
    """dev and prod, both accepting only the password moto's ECR hands out."""
    password = moto_password(moto_ecr)
    dev, prod = Registry(password=password).start(), Registry(password=password).start()
    yield dev, prod
    dev.stop()
    prod.stop()


@pytest.fixture(scope="module")
def dev_image(
    registries: tuple[Registry, Registry], base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A small image built by the engine and pushed to dev; its `<host>/<repo>@digest`."""
    dev, _ = registries
    dev.login()
    context = tmp_path_factory.mktemp("promote-image")
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nLABEL org.opencontainers.image.revision={TAG}\n"
    )
    ref = f"{dev.host}/{DEV_REPO}:{TAG}"
    docker("build", "--platform", "linux/amd64", "-t", ref, str(context), timeout=600)
    docker("push", ref, timeout=600)
    yield f"{dev.host}/{DEV_REPO}@{manifest(dev, DEV_REPO, TAG)[1]}"
    docker("rmi", ref, timeout=120)


def test_the_script_copies_by_digest_then_finds_it_there(
    registries: tuple[Registry, Registry],
    dev_image: str,
    checkout: Path,
    script_env: dict[str, str],
) -> None:
    dev, prod = registries
    destination = f"{prod.host}/{PROD_REPO}"
    first = run(checkout, script_env, dev_image, destination, TAG)
    assert first.returncode == 0, first.stderr
    digest = dev_image.rsplit("@", 1)[1]
    assert first.stdout == f"{destination}@{digest}\n"
    assert "copied (1 manifests" in first.stderr
    prod_bytes, prod_digest = manifest(prod, PROD_REPO, TAG)
    assert (prod_bytes, prod_digest) == manifest(dev, DEV_REPO, TAG)
    assert "sha256:" + hashlib.sha256(prod_bytes).hexdigest() == digest
    # No login lingers in argv or output.
    assert dev.password not in first.stdout + first.stderr

    stored = prod.stored_bytes()
    again = run(checkout, script_env, dev_image, destination, TAG)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert "already there, nothing copied" in again.stderr
    assert prod.stored_bytes() == stored


def test_a_tag_held_with_another_digest_is_refused(
    registries: tuple[Registry, Registry],
    dev_image: str,
    checkout: Path,
    script_env: dict[str, str],
) -> None:
    _, prod = registries
    destination = f"{prod.host}/{PROD_REPO}"
    assert run(checkout, script_env, dev_image, destination, TAG).returncode == 0
    other = f"{prod.host}/{PROD_REPO}:{TAG}"
    held = manifest(prod, PROD_REPO, TAG)[1]
    # The same image under a second dev tag is fine; a different digest under TAG is not.
    fake = dev_image.rsplit("@", 1)[0] + "@sha256:" + "0" * 64
    refused = run(checkout, script_env, fake, destination, TAG)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"promotion: {other.rsplit(':', 1)[0]}:{TAG} already holds {held}, not the promoted "
        f"sha256:{'0' * 64}; a tag is never moved by promotion (see docs/deploying.md, "
        "rolling back)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "expected SOURCE_IMAGE_REF DESTINATION_REPOSITORY_URL TAG"),
        (("127.0.0.1:1/a:sha-1", "127.0.0.1:1/b", "sha-1"), "SOURCE_IMAGE_REF must be"),
        (("127.0.0.1:1/a@sha256:" + "1" * 64, "127.0.0.1:1/b:sha-1", "sha-1"), "no tag"),
        (("127.0.0.1:1/a@sha256:" + "1" * 64, "127.0.0.1:1/b", "bad tag"), "is not an image tag"),
        (("--force",), "unknown option '--force'"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    args: tuple[str, ...], message: str, checkout: Path, script_env: dict[str, str]
) -> None:
    result = run(checkout, script_env, *args)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == ""
