"""scripts/ecr_push.sh end to end: moto's ECR API hands out the login password, a real
registry takes the push, and a second run finds the tag and does nothing."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.image_tag import build_plan
from testkit.engine import inspect, untag_registry
from testkit.moto_server import MotoEcr
from testkit.registry import REGISTRY_USER, Registry
from tests.container.conftest import PUSH_REGION, BuiltImage, run_script

# A single-platform image's manifest, in either media type an engine may push.
IMAGE_MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
MANIFEST_TYPES = ", ".join(IMAGE_MANIFEST_TYPES)
# An index (manifest list): what a BuildKit build with attestations pushes under the tag.
INDEX_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
IMAGE_CONFIG_TYPES = (
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
)


def ecr_login_password(moto: MotoEcr) -> str:
    """The password `aws ecr get-login-password` will print, asked through the ECR API."""
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("ecr", region_name=PUSH_REGION, endpoint_url=moto.endpoint, **keys)
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


def registry_api(registry: Registry, path: str, accept: str = "*/*") -> tuple[bytes, str]:
    """Docker Registry HTTP API V2, as the registry itself answers: body and content digest."""
    request = urllib.request.Request(
        f"http://{registry.host}/v2/{path}", headers={"Accept": accept}
    )
    credentials = base64.b64encode(f"{REGISTRY_USER}:{registry.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {credentials}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read(), response.headers.get("Docker-Content-Digest", "")


def served_manifest(registry: Registry, name: str, tag: str) -> dict[str, Any]:
    """What the registry serves `name:tag` as to a client that accepts indexes too."""
    body, _ = registry_api(
        registry, f"{name}/manifests/{tag}", ", ".join(IMAGE_MANIFEST_TYPES + INDEX_TYPES)
    )
    manifest: dict[str, Any] = json.loads(body)
    return manifest


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
    # One image manifest, not an index with an attestation manifest beside the image.
    manifest = served_manifest(ecr_registry, "retail-api", expected_tag)
    assert manifest["mediaType"] in IMAGE_MANIFEST_TYPES
    assert "manifests" not in manifest
    assert manifest["config"]["mediaType"] in IMAGE_CONFIG_TYPES
    assert len(manifest["layers"]) >= 1
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
