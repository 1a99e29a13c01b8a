"""The policy objects the pack serves: metadata, type scoping, and the running pack over gRPC."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]  # no types-grpcio in the lock
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import checks
from policy.retail_policies import PACK_NAME, POLICIES
from tests.policy.conftest import policy_options

REPO_ROOT = Path(__file__).resolve().parents[2]
MANDATORY = {
    "ecr-tags-immutable",
    "ecr-scan-on-push",
    "ecr-lifecycle-policy-valid",
    "ecr-repository-has-lifecycle-policy",
    "ecr-repository-policy-not-public",
    "docker-image-platform-set",
}
ADVISORY = {"ecr-kms-encryption", "ecr-no-force-delete-on-prod", "ecr-lifecycle-policy-warnings"}
BAD_REPOSITORY = {
    "name": "retail-api",
    "imageTagMutability": "MUTABLE",
    "imageScanningConfiguration": {"scanOnPush": False},
    "encryptionConfigurations": [{"encryptionType": "AES256"}],
    "forceDelete": True,
}


def _urn(resource_type: str, name: str, stack: str = "prod") -> str:
    return f"urn:pulumi:{stack}::retail-registry::{resource_type}::{name}"


def _messages(policy: ResourceValidationPolicy, args: ResourceValidationArgs) -> list[str]:
    messages: list[str] = []

    def report(message: str, _urn: str | None) -> None:
        messages.append(message)

    policy.validate(args, report)
    return messages


def _violations(resource_type: str, props: Mapping[str, Any], stack: str = "prod") -> set[str]:
    """Names of the resource policies that report a violation for one resource."""
    urn = _urn(resource_type, "r", stack)
    args = ResourceValidationArgs(resource_type, props, urn, "r", policy_options(), None)
    return {
        policy.name
        for policy in POLICIES
        if isinstance(policy, ResourceValidationPolicy) and _messages(policy, args)
    }


def test_policy_metadata_is_explicit() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)
    levels = {p.name: p.enforcement_level for p in POLICIES}
    assert {n for n, lvl in levels.items() if lvl is EnforcementLevel.MANDATORY} == MANDATORY
    assert {n for n, lvl in levels.items() if lvl is EnforcementLevel.ADVISORY} == ADVISORY
    assert all(len(p.description) > 40 for p in POLICIES)


def test_bad_repository_trips_each_repository_policy() -> None:
    assert _violations(checks.REPOSITORY_TYPE, BAD_REPOSITORY) == {
        "ecr-tags-immutable",
        "ecr-scan-on-push",
        "ecr-kms-encryption",
        "ecr-no-force-delete-on-prod",
    }


def test_force_delete_is_fine_off_prod() -> None:
    assert "ecr-no-force-delete-on-prod" not in _violations(
        checks.REPOSITORY_TYPE, BAD_REPOSITORY, stack="dev"
    )


def test_policies_ignore_other_resource_types() -> None:
    # A bucket with the same bad-looking props must not trip any ECR or docker policy.
    assert _violations("aws:s3/bucket:Bucket", {**BAD_REPOSITORY, "policy": "{"}) == set()


def test_docker_image_without_platform_is_blocked() -> None:
    build = {"context": "server", "dockerfile": "Dockerfile"}
    image: dict[str, Any] = {"imageName": "r:1", "build": build}
    assert _violations(checks.DOCKER_IMAGE_TYPE, image) == {"docker-image-platform-set"}
    image["build"] = {**build, "platform": "linux/amd64"}
    assert _violations(checks.DOCKER_IMAGE_TYPE, image) == set()


def test_public_repository_policy_is_blocked() -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}
    props = {"repository": "retail-api", "policy": json.dumps({"Statement": [statement]})}
    assert _violations(checks.REPOSITORY_POLICY_TYPE, props) == {"ecr-repository-policy-not-public"}


def _resource(resource_type: str, name: str, props: Mapping[str, Any]) -> PolicyResource:
    return PolicyResource(
        resource_type, props, _urn(resource_type, name), name, policy_options(), None, None, [], {}
    )


def test_stack_policy_reports_the_uncovered_repository_urn() -> None:
    [stack_policy] = [p for p in POLICIES if isinstance(p, StackValidationPolicy)]
    bare = _resource(checks.REPOSITORY_TYPE, "bare", {"name": "bare"})
    resources = [bare, _resource("aws:s3/bucket:Bucket", "b", {"name": "bare"})]
    reported: list[tuple[str, str | None]] = []
    stack_policy.validate(
        StackValidationArgs(resources), lambda msg, urn: reported.append((msg, urn))
    )
    assert [urn for _, urn in reported] == [bare.urn]
    assert "'bare'" in reported[0][0]


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """Starts policy/__main__.py as Pulumi does: `python -u`, cwd policy/, no repo root on path."""
    proc = subprocess.Popen(
        [sys.executable, "-I", "-u", "__main__.py"],
        cwd=REPO_ROOT / "policy",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            assert proc.stderr is not None
            pytest.fail(f"policy pack did not start: {line!r} {proc.stderr.read().decode()}")
        with grpc.insecure_channel(f"127.0.0.1:{line}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.timeout(60)
def test_running_pack_serves_every_policy(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=20)
    assert info.name == PACK_NAME
    assert {p.name for p in info.policies} == MANDATORY | ADVISORY


@pytest.mark.timeout(60)
def test_running_pack_blocks_a_mutable_repository(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    properties = struct_pb2.Struct()
    properties.update(BAD_REPOSITORY)
    request = analyzer_pb2.AnalyzeRequest(
        type=checks.REPOSITORY_TYPE,
        properties=properties,
        urn=_urn(checks.REPOSITORY_TYPE, "retail-repo"),
        name="retail-repo",
    )
    response = analyzer.Analyze(request, timeout=20)
    by_policy = {d.policyName: d for d in response.diagnostics}
    assert "ecr-tags-immutable" in by_policy
    assert "imageTagMutability" in by_policy["ecr-tags-immutable"].message
    assert by_policy["ecr-tags-immutable"].enforcementLevel == analyzer_pb2.MANDATORY
