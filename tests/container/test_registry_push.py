"""Pushing to a registry that authenticates like ECR, and what a code-only change costs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from testkit.engine import DockerError, build_image, docker, inspect
from testkit.registry import REGISTRY_USER, Registry
from tests.container.conftest import IMAGE_REPO, BuiltImage

pytestmark = pytest.mark.container

DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
# The goal for what a code-only change uploads.
CODE_ONLY_PUSH_LIMIT = 2 * 1024 * 1024


def push(ref: str) -> str:
    """Push and return the manifest digest the registry reported."""
    match = DIGEST.search(docker("push", ref, timeout=600))
    assert match, f"no digest in push output for {ref}"
    return match.group(1)


def tag_for(registry: Registry, image: str, tag: str) -> str:
    ref = f"{registry.host}/{IMAGE_REPO}:{tag}"
    docker("tag", image, ref)
    return ref


def test_login_needs_the_token(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(DockerError, match=r"401|unauthorized|incorrect"):
        docker(
            "--config",
            str(tmp_path),
            "login",
            "--username",
            REGISTRY_USER,
            "--password-stdin",
            registry.host,
            input_text="not-the-token",
        )


def test_push_then_pull_by_digest_round_trips(built_image: BuiltImage, registry: Registry) -> None:
    ref = tag_for(registry, built_image.tag, "sha-roundtrip000")
    digest = push(ref)
    docker("rmi", ref)
    by_digest = f"{registry.host}/{IMAGE_REPO}@{digest}"
    docker("pull", by_digest, timeout=300)
    pulled = inspect(by_digest)
    assert by_digest in pulled["RepoDigests"]
    assert pulled["Id"] == inspect(built_image.tag)["Id"]
    docker("rmi", by_digest)


def test_same_tag_new_content_moves_the_tag_here_which_ecr_would_reject(
    built_image: BuiltImage, registry: Registry
) -> None:
    """The Distribution registry has no immutable tags, so it silently retargets the tag.

    ECR with IMMUTABLE tags (the program's default) answers ImageTagAlreadyExistsException
    instead, and the content tag means a new content never reuses a tag. The test pins down
    the difference, so nobody reads a green push here as proof of immutability.
    """
    ref = tag_for(registry, built_image.tag, "sha-immutable00")
    first = push(ref)
    docker(
        "build",
        "--tag",
        ref,
        "--label",
        "variant=second",
        "-",
        timeout=120,
        input_text=f"FROM {built_image.tag}\n",
    )
    second = push(ref)
    assert first != second
    manifest = docker("manifest", "inspect", "--insecure", "--verbose", ref, timeout=60)
    assert second in manifest and first not in manifest
    docker("rmi", ref)


def test_code_only_change_reuses_dependencies_and_pushes_little(
    built_image: BuiltImage, registry: Registry, tmp_path: Path
) -> None:
    push(tag_for(registry, built_image.tag, "sha-codebefore0"))
    context = tmp_path / "server"
    shutil.copytree(built_image.context, context)
    init = context / "retail_api" / "__init__.py"
    init.write_text(init.read_text() + "\n# code-only change for the layer test\n")
    changed_tag = f"{IMAGE_REPO}:test-code-change"
    rebuild = build_image(context, changed_tag, built_image.build_args)
    try:
        # The dependency layer came from cache: pip never ran.
        assert "Collecting" not in rebuild.log and "Downloading" not in rebuild.log
        assert rebuild.log.count("Using cache") >= 3
        before = registry.stored_bytes()
        push(tag_for(registry, changed_tag, "sha-codeafter00"))
        uploaded = registry.stored_bytes() - before
        assert 0 < uploaded <= CODE_ONLY_PUSH_LIMIT, f"code-only push stored {uploaded} bytes"
    finally:
        docker("rmi", changed_tag, f"{registry.host}/{IMAGE_REPO}:sha-codeafter00")
