"""infra/aws_session/ against moto's server on loopback: the session the provider would have.

moto models accounts: `AssumeRole` into `arn:aws:iam::<acct>:role/x` gives keys acting in
<acct>, and keys it never issued act in 123456789012. So a chain can be checked end to end:
base keys in 111111111111 (the CI identity), `aws:assumeRoles` into 842676018087 (the
registry's account), and the gate and the SBOM reader reading the repository there. moto has
no GetDownloadUrlForLayer; that one answer is given by a botocore `before-call` handler on the
session's own client, and the layer bytes by the `download` seam.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from infra import aws_session
from infra.aws_config import AwsConfig, RoleToAssume, parse_aws_config
from infra.aws_session import AwsSession
from infra.aws_types import AwsCallError, EcrTarget
from infra.image_sbom.deploy import ecr_sbom_sha256
from infra.scan_gate import ScanPolicy
from infra.scan_gate.gate import GateRun, check
from testkit.moto_server import MotoEcr
from tests.infra.conftest import REGION
from tests.infra.oci_image import sbom_image

CI_ACCOUNT = "111111111111"
REGISTRY_ACCOUNT = "842676018087"
REPOSITORY = "mlops/retail-api"
SBOM = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": "urn:uuid:1"}\n'
TODAY = __import__("datetime").date(2026, 11, 30)


def keys_in(endpoint: str, account: str) -> dict[str, str]:
    """Temporary keys acting in `account`, as moto issues them on AssumeRole."""
    sts = boto3.client(
        "sts",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="AKIDUNKNOWN000000000",
        aws_secret_access_key="unknown",
    )
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="setup"
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    server = MotoEcr().start()
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture(scope="module")
def held(moto: str) -> tuple[str, str]:
    """(repository ARN, digest) of an SBOM-carrying image in the registry account, scanned."""
    ecr = boto3.client(
        "ecr", region_name=REGION, endpoint_url=moto, **keys_in(moto, REGISTRY_ACCOUNT)
    )
    arn = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryArn"]
    manifest = sbom_image(SBOM).manifest_bytes.decode()
    image = ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageTag="sha-1")
    digest = image["image"]["imageId"]["imageDigest"]
    ecr.start_image_scan(repositoryName=REPOSITORY, imageId={"imageDigest": digest})
    return arn, digest


def chained(moto: str, **overrides: Any) -> AwsConfig:
    """Stack config as `aws:` keys would give it: CI keys, then a role in the registry account."""
    base = keys_in(moto, CI_ACCOUNT)
    values: dict[str, Any] = {
        "region": REGION,
        "accessKey": base["aws_access_key_id"],
        "secretKey": base["aws_secret_access_key"],
        "token": base["aws_session_token"],
        "assumeRoles": json.dumps(
            [
                {
                    "roleArn": f"arn:aws:iam::{REGISTRY_ACCOUNT}:role/retail-deploy",
                    "sessionName": "retail-registry",
                    "externalId": "ci",
                    "duration": "15m",
                }
            ]
        ),
        "endpoints": json.dumps([{"ecr": moto, "sts": moto, "s3": "http://unused.invalid"}]),
        "allowedAccountIds": json.dumps([REGISTRY_ACCOUNT]),
        "defaultTags": json.dumps({"tags": {"team": "mlops"}}),
        **overrides,
    }
    return parse_aws_config(values)


def test_the_role_chain_reads_the_repository_in_the_registry_account(
    moto: str, held: tuple[str, str]
) -> None:
    arn, digest = held
    assert arn.split(":")[4] == REGISTRY_ACCOUNT
    session = AwsSession(chained(moto))
    identity = session.client("sts", REGION).get_caller_identity()
    assert identity["Account"] == REGISTRY_ACCOUNT
    assert identity["Arn"].endswith(":assumed-role/retail-deploy/retail-registry")
    run = GateRun(session, EcrTarget.from_arn(arn), ScanPolicy(), ("linux/amd64",), False, TODAY)
    output = check(run, digest)
    assert (output["digest"], output["counts"]) == (digest, {"HIGH": 1})


def test_the_sbom_reader_uses_the_same_session(
    moto: str, held: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn, digest = held
    target = EcrTarget.from_arn(arn)
    session = AwsSession(chained(moto))
    blobs = sbom_image(SBOM).blobs
    asked: list[str] = []

    def layer_url(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # A before-call handler's answer stands in for the HTTP exchange (botocore's hook).
        layer = json.loads(params["body"])["layerDigest"]
        asked.append(layer)
        answer = {"downloadUrl": f"https://layers.invalid/{layer}", "layerDigest": layer}
        return AWSResponse(moto, 200, {}, None), answer

    session.client("ecr", REGION).meta.events.register(
        "before-call.ecr.GetDownloadUrlForLayer", layer_url
    )
    monkeypatch.setattr(aws_session, "download", lambda url, limit: blobs[url.rsplit("/", 1)[1]])
    found = ecr_sbom_sha256(session, target, digest, "linux/amd64")
    assert found == hashlib.sha256(SBOM).hexdigest()
    assert len(asked) == 2  # the config, then the one SBOM layer


def test_without_the_role_the_base_identity_is_refused_by_name(
    moto: str, held: tuple[str, str]
) -> None:
    session = AwsSession(chained(moto, assumeRoles=None))
    with pytest.raises(AwsCallError) as caught:
        session.client("ecr", REGION)
    assert str(caught.value) == (
        f"GetCallerIdentity failed: AccountNotAllowed: credentials belong to account "
        f"{CI_ACCOUNT}, which aws:allowedAccountIds ({REGISTRY_ACCOUNT}) does not list"
    )


def test_forbidden_accounts_are_refused(moto: str) -> None:
    config = chained(
        moto, allowedAccountIds=None, forbiddenAccountIds=json.dumps([REGISTRY_ACCOUNT])
    )
    with pytest.raises(AwsCallError, match="aws:forbiddenAccountIds lists"):
        AwsSession(config).client("ecr", REGION)


def test_a_role_chain_of_two_hops(moto: str) -> None:
    config = chained(moto, allowedAccountIds=None)
    hop = RoleToAssume("arn:aws:iam::222222222222:role/auditor", {"RoleSessionName": "hop2"})
    two = AwsConfig(**{**config.__dict__, "assume_roles": (*config.assume_roles, hop)})
    identity = AwsSession(two).client("sts", REGION).get_caller_identity()
    assert identity["Account"] == "222222222222"


def test_clients_carry_the_endpoint_region_and_retries(moto: str) -> None:
    config = chained(moto, maxRetries="3", retryMode="adaptive")
    client = AwsSession(config).client("ecr", "eu-west-1")
    assert client.meta.endpoint_url == moto
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 4}
