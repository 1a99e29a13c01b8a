"""The pure parts of promotion: references, the decision, the provider's check and diff, the
AWS settings carried as a secret input, and GetAuthorizationToken through the one session."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pulumi.runtime import rpc

from infra.aws_config import AwsConfig, RoleToAssume
from infra.aws_session import AwsSession
from infra.promotion.auth import Credentials, aws_config_document, aws_config_from_document
from infra.promotion.copier import DigestConflictError
from infra.promotion.deploy import decide
from infra.promotion.provider import RegistryCopyProvider
from infra.promotion.refs import (
    PromotionError,
    Repository,
    Source,
    parse_digest_ref,
    source_from_outputs,
)
from infra.promotion.run import parse_destination
from infra.registry_lookup import RegistryContents
from tests.infra.pulumi_harness import serve_boto3

DIGEST = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64
HOST = "842676018087.dkr.ecr.ap-southeast-1.amazonaws.com"


def test_an_ecr_host_names_its_registry_and_region() -> None:
    assert Repository.parse(f"{HOST}/mlops/retail-api").ecr == ("842676018087", "ap-southeast-1")
    assert Repository.parse("127.0.0.1:5000/mlops/retail-api").ecr is None


@pytest.mark.parametrize(
    "text",
    [
        f"{HOST}/mlops/retail-api:sha-1",
        f"{HOST}/mlops/retail-api@sha256:abc",
        f"{HOST}/Mlops/retail-api@{DIGEST}",
        f"{HOST}@{DIGEST}",
    ],
)
def test_only_a_reference_by_full_digest_is_a_source(text: str) -> None:
    with pytest.raises(PromotionError, match="is not"):
        parse_digest_ref(text)


def test_a_source_is_read_from_the_stack_outputs() -> None:
    outputs = {"imageRef": f"{HOST}/mlops-dev/retail-api@{DIGEST}", "imageTag": "sha-0123"}
    source = source_from_outputs("acme/retail-registry/dev", outputs)
    assert source == Source(Repository(HOST, "mlops-dev/retail-api"), DIGEST, "sha-0123")
    assert source.ref == f"{HOST}/mlops-dev/retail-api@{DIGEST}"


def test_a_bad_tag_in_the_source_outputs_names_the_stack() -> None:
    outputs = {"imageRef": f"{HOST}/mlops-dev/retail-api@{DIGEST}", "imageTag": "no tag"}
    with pytest.raises(PromotionError, match=r"^promoteFrom acme/x/dev: imageRef/imageTag: "):
        source_from_outputs("acme/x/dev", outputs)


def test_the_decision_copies_reuses_or_refuses() -> None:
    source = Source(Repository(HOST, "mlops-dev/retail-api"), DIGEST, "sha-0123")
    empty = RegistryContents(repository_exists=False)
    same = RegistryContents(True, {"sha-0123": DIGEST})
    other = RegistryContents(True, {"sha-0123": OTHER})
    assert decide(source, empty, "mlops/retail-api", None).copy is True
    assert decide(source, same, "mlops/retail-api", None).copy is False
    with pytest.raises(DigestConflictError) as caught:
        decide(source, other, "mlops/retail-api", None)
    assert (caught.value.held, caught.value.wanted) == (OTHER, DIGEST)
    pinned = decide(None, other, "mlops/retail-api", "sha-0123")
    assert (pinned.digest, pinned.copy, pinned.source) == (OTHER, False, None)


def test_a_destination_is_a_repository_and_a_tag() -> None:
    assert parse_destination(f"{HOST}/mlops/retail-api:sha-1") == (
        Repository(HOST, "mlops/retail-api"),
        "sha-1",
    )
    with pytest.raises(PromotionError, match="is not <registry host>/<repository>:<tag>"):
        parse_destination("retail-api:sha-1")


def test_the_provider_checks_its_inputs_by_name() -> None:
    provider = RegistryCopyProvider()
    good = {"source": f"{HOST}/a/b@{DIGEST}", "destination": f"{HOST}/a/c:sha-1"}
    assert provider.check({}, good).failures == []
    bad = provider.check({}, {"source": f"{HOST}/a/b:sha-1", "destination": "x"}).failures
    assert [failure.property for failure in bad] == ["source", "destination"]
    # A first preview: the repository, hence the destination URL, does not exist yet.
    unknown = {**good, "destination": rpc.UNKNOWN}
    assert provider.check({}, unknown).failures == []


def test_only_what_is_copied_changes_the_resource_never_the_credentials() -> None:
    provider = RegistryCopyProvider()
    olds: dict[str, Any] = {
        "source": f"{HOST}/a/b@{DIGEST}",
        "destination": f"{HOST}/a/c:sha-1",
        "plainHttp": False,
        "credentials": '{"aws": {}}',
    }
    rotated = {**olds, "credentials": '{"aws": {"profile": "other"}}'}
    assert provider.diff("id", olds, rotated).changes is False
    moved = {**olds, "source": f"{HOST}/a/b@{OTHER}", "destination": f"{HOST}/a/c:sha-2"}
    result = provider.diff("id", olds, moved)
    assert (result.changes, result.replaces) == (True, [])


def test_the_aws_settings_survive_the_trip_through_the_secret_input() -> None:
    config = AwsConfig(
        region="ap-southeast-1",
        access_key="AKIAEXAMPLE",
        secret_key="secret",
        assume_roles=(RoleToAssume("arn:aws:iam::842676018087:role/a", {"RoleSessionName": "s"}),),
        web_identity=RoleToAssume("arn:aws:iam::842676018087:role/w", web_identity_token="t"),
        allowed_account_ids=("842676018087",),
        endpoints={"ecr": "http://127.0.0.1:5000"},
    )
    assert aws_config_from_document(aws_config_document(config)) == config


def test_credentials_never_print_their_password() -> None:
    assert "hunter2" not in repr(Credentials("AWS", "hunter2"))


class _TokenClient:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []

    def get_authorization_token(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        return self.answer


def test_the_authorization_token_is_asked_for_one_registry_and_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = base64.b64encode(b"AWS:pass:with:colons").decode()
    client = _TokenClient(
        {"authorizationData": [{"authorizationToken": token, "proxyEndpoint": f"https://{HOST}"}]}
    )
    serve_boto3(monkeypatch, client)
    session = AwsSession(AwsConfig(region="ap-southeast-1"))
    assert session.authorization_token("842676018087", "ap-southeast-1") == (
        "AWS",
        "pass:with:colons",
        f"https://{HOST}",
    )
    assert client.requests == [{"registryIds": ["842676018087"]}]


def test_an_answer_without_authorization_data_is_an_aws_call_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve_boto3(monkeypatch, _TokenClient({"authorizationData": []}))
    session = AwsSession(AwsConfig(region="ap-southeast-1"))
    with pytest.raises(Exception, match="GetAuthorizationToken failed: NoAuthorizationData") as e:
        session.authorization_token("842676018087", "ap-southeast-1")
    assert type(e.value).__name__ == "AwsCallError"
