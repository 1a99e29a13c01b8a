"""prod's committed stack file under mocks: promotion from dev, not a build."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

import pulumi
import pytest

from infra.promotion.provider import RegistryCopyProvider
from tests.infra.conftest import ACCOUNT, REGION, engine_config
from tests.infra.pulumi_harness import (
    SOURCE_DIGEST,
    SOURCE_STACK,
    SOURCE_TAG,
    FakeEcr,
    ProgramRun,
    program_run,
    resolve,
)

PROD = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlops/retail-api"
DEV = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlops-dev/retail-api"
COPY = "pulumi-python:dynamic/promotion:RegistryCopy"
IMAGE = "docker:index/image:Image"
OTHER = "sha256:" + "e" * 64


def content_tags(ecr: FakeEcr) -> list[tuple[str, list[str]]]:
    """prod's images and their sha-* tags (the deployed-* shield tags left out)."""
    return [
        (digest, [t for t in tags if t.startswith("sha-")])
        for digest, tags in ecr.images.get("mlops/retail-api", [])
    ]


def exported(run: ProgramRun) -> dict[str, Any]:
    return {name: resolve(pulumi.Output.from_input(v)) for name, v in run.exports.items()}


def test_prod_builds_nothing_and_exports_the_digest_dev_gated() -> None:
    run = ProgramRun()
    with program_run("prod", engine_config("prod"), run=run):
        values = exported(run)
    assert run.of_type(IMAGE) == []
    assert run.stack_reads == [SOURCE_STACK]
    assert values["imageTag"] == SOURCE_TAG
    assert values["imageDigest"] == SOURCE_DIGEST
    assert values["imageRef"] == f"{PROD}@{SOURCE_DIGEST}"
    assert values["imageUri"] == f"{PROD}:{SOURCE_TAG}"
    # The copy landed under the same tag, and the gate read prod's copy, not dev's.
    assert content_tags(run.ecr) == [(SOURCE_DIGEST, [SOURCE_TAG])]
    scanned = [r for call, r in run.ecr.requests if call == "DescribeImageScanFindings"]
    assert {(r["repositoryName"], r["imageId"]["imageDigest"]) for r in scanned} == {
        ("mlops/retail-api", SOURCE_DIGEST)
    }


def test_the_copy_shows_source_digest_and_destination_tag_and_keeps_credentials_secret() -> None:
    run = ProgramRun()
    with program_run("prod", engine_config("prod"), run=run):
        exported(run)
    (copy,) = run.of_type(COPY)
    assert copy.name == "retail-api-promotion"
    assert copy.inputs["source"] == f"{DEV}@{SOURCE_DIGEST}"
    assert copy.inputs["destination"] == f"{PROD}:{SOURCE_TAG}"
    assert ("credentials",) in copy.secret_paths
    # What the provider reads at run time: the stack's aws: settings, never a token.
    assert json.loads(copy.inputs["credentials"])["aws"]["region"] == REGION
    # The pickled provider is stored in plain text: it must carry no credential at all.
    assert ("__provider",) not in copy.secret_paths
    pickled = base64.b64decode(copy.inputs["__provider"])
    for needle in (b"ecr-token", b"aws_secret", b"password", REGION.encode()):
        assert needle not in pickled
    # A reference to the class by name and an instance with no state: nothing else inside.
    provider = pickle.loads(pickled)
    assert type(provider) is RegistryCopyProvider
    assert vars(provider) == {}


def test_static_keys_reach_the_state_only_as_a_secret_input() -> None:
    config = {
        **engine_config("prod"),
        "aws:accessKey": "AKIAEXAMPLEKEY000000",
        "aws:secretKey": "very-secret-key-material",
    }
    run = ProgramRun()
    with program_run("prod", config, run=run):
        exported(run)
    (copy,) = run.of_type(COPY)
    assert json.loads(copy.inputs["credentials"])["aws"]["secret_key"] == (
        "very-secret-key-material"
    )
    assert ("credentials",) in copy.secret_paths
    plain = {k: v for k, v in copy.inputs.items() if k != "credentials"}
    assert "very-secret-key-material" not in json.dumps(plain)
    assert b"very-secret" not in base64.b64decode(copy.inputs["__provider"])


def test_a_tag_prod_holds_with_the_same_digest_copies_nothing_new() -> None:
    ecr = FakeEcr(images={"mlops/retail-api": [(SOURCE_DIGEST, [SOURCE_TAG])]})
    run = ProgramRun(ecr=ecr)
    with program_run("prod", engine_config("prod"), run=run):
        values = exported(run)
    assert values["imageRef"] == f"{PROD}@{SOURCE_DIGEST}"
    assert content_tags(ecr) == [(SOURCE_DIGEST, [SOURCE_TAG])]


def test_a_tag_prod_holds_with_another_digest_fails_naming_both() -> None:
    ecr = FakeEcr(images={"mlops/retail-api": [(OTHER, [SOURCE_TAG])]})
    run = ProgramRun(ecr=ecr)
    with (
        pytest.raises(pulumi.RunError) as caught,
        program_run("prod", engine_config("prod"), run=run),
    ):
        pass
    assert str(caught.value) == (
        f"mlops/retail-api:{SOURCE_TAG} already holds {OTHER}, not the promoted "
        f"{SOURCE_DIGEST}; a tag is never moved by promotion (see docs/deploying.md, "
        "rolling back)"
    )
    assert content_tags(ecr) == [(OTHER, [SOURCE_TAG])]


@pytest.mark.parametrize(
    "outputs",
    [{}, {"imageTag": SOURCE_TAG}, {"imageRef": "", "imageTag": SOURCE_TAG}],
    ids=["never-deployed", "no-image-ref", "empty-image-ref"],
)
def test_a_source_without_a_gated_image_ref_fails_clearly(outputs: dict[str, Any]) -> None:
    run = ProgramRun(stacks={SOURCE_STACK: outputs})
    with (
        pytest.raises(pulumi.RunError) as caught,
        program_run("prod", engine_config("prod"), run=run),
    ):
        pass
    assert str(caught.value) == (
        f"promoteFrom {SOURCE_STACK}: the stack has no gated imageRef output (has its "
        "`pulumi up` finished, with the scan gate passing?); nothing to promote"
    )
    assert run.of_type(IMAGE) == []


def test_a_source_image_ref_by_tag_is_refused() -> None:
    outputs = {"imageRef": f"{DEV}:{SOURCE_TAG}", "imageTag": SOURCE_TAG}
    run = ProgramRun(stacks={SOURCE_STACK: outputs})
    with (
        pytest.raises(pulumi.RunError, match=r"imageRef/imageTag: .* is not <registry host>"),
        program_run("prod", engine_config("prod"), run=run),
    ):
        pass


def test_a_rollback_pin_is_a_lookup_of_prods_own_copy_even_after_dev_expired_it() -> None:
    held = "sha256:" + "a" * 64
    ecr = FakeEcr(images={"mlops/retail-api": [(held, ["sha-aaaaaaaaaaaa"])]})
    # dev rebuilt nothing under that tag and its output is something else entirely.
    run = ProgramRun(ecr=ecr, stacks={SOURCE_STACK: {}})
    config = {**engine_config("prod"), "retail-registry:imageTag": "sha-aaaaaaaaaaaa"}
    with program_run("prod", config, run=run):
        values = exported(run)
    assert values["imageRef"] == f"{PROD}@{held}"
    assert values["imageTag"] == "sha-aaaaaaaaaaaa"
    assert run.stack_reads == []
    assert run.of_type(COPY) == [] and run.of_type(IMAGE) == []
    assert content_tags(ecr) == [(held, ["sha-aaaaaaaaaaaa"])]


def test_a_rollback_pin_prod_does_not_hold_fails_naming_the_way_back() -> None:
    config = {**engine_config("prod"), "retail-registry:imageTag": "sha-aaaaaaaaaaaa"}
    with (
        pytest.raises(
            pulumi.RunError, match=r"^imageTag sha-aaaaaaaaaaaa: mlops/retail-api does not hold it"
        ),
        program_run("prod", config, run=ProgramRun()),
    ):
        pass


def test_dev_keeps_building() -> None:
    run = ProgramRun()
    with program_run("dev", engine_config("dev"), run=run):
        exported(run)
    assert len(run.of_type(IMAGE)) == 1
    assert run.of_type(COPY) == [] and run.stack_reads == []


def test_a_preview_shows_the_digest_to_copy_and_the_tag_it_goes_under() -> None:
    run = ProgramRun()
    with program_run("prod", engine_config("prod"), run=run, preview=True):
        pass
    (copy,) = run.of_type(COPY)
    assert (copy.inputs["source"], copy.inputs["destination"]) == (
        f"{DEV}@{SOURCE_DIGEST}",
        f"{PROD}:{SOURCE_TAG}",
    )
    assert run.of_type(IMAGE) == []
