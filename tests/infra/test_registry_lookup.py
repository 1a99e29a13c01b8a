"""infra/registry_lookup.py: look before you build, pure and under mocks.

Each program run uses the real stack files; the fake registry (tests/infra/pulumi_harness.py)
answers `aws.ecr.get_repositories`/`get_images`/`get_image` as ECR would and records pushes.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from infra.image_tag import BuildPlan, build_plan
from infra.oci import is_digest
from infra.paths import DOCKERFILE, PROJECT_ROOT, SERVER_DIR
from infra.registry_lookup import RegistryContents, choose_source, digest_of
from tests.infra.conftest import ACCOUNT, REGION, engine_config
from tests.infra.promotion.support import building
from tests.infra.pulumi_harness import (
    IMAGE_CALL,
    IMAGES_CALL,
    REPOSITORIES_CALL,
    FakeEcr,
    ProgramRun,
    program_run,
    resolve,
)

IMAGE = "docker:index/image:Image"
REPOSITORY = "mlops/retail-api"
URL = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"
OLD = "sha256:" + "0a" * 32
HELD = "sha256:" + "ab" * 32
NEWEST = "sha256:" + "cd" * 32


def deploy(ecr: FakeEcr, monkeypatch: pytest.MonkeyPatch, tag: str | None = None) -> ProgramRun:
    """One `pulumi up` of prod against `ecr`; `tag` stands in for a commit's content tag."""
    if tag is not None:
        monkeypatch.setattr("infra.registry.build_plan", _plan_with_tag(tag))
    run = ProgramRun(ecr=ecr)
    with program_run("prod", building(engine_config("prod")), run=run):
        for name in ("imageTag", "imageDigest", "imageRef"):
            run.exports[name] = resolve(pulumi.Output.from_input(run.exports[name]))
    return run


def content_tags(ecr: FakeEcr) -> list[tuple[str, list[str]]]:
    """The repository's images and their tags, without the deployed-window tags."""
    return [
        (digest, [tag for tag in tags if not tag.startswith("deployed-")])
        for digest, tags in ecr.images[REPOSITORY]
    ]


def settle() -> None:
    """Run every task a stopped program left queued, the component's registration among them.

    A program that raises leaves its registrations in flight on the event loop, and whether
    one has reached the monitor by then depends on thread timing (the first run in a process
    loses the race, later ones win it); once they have all run, the record is the same."""
    loop = asyncio.get_event_loop()
    pending = asyncio.all_tasks(loop)
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _plan_with_tag(tag: str) -> Callable[..., BuildPlan]:
    def plan(*args: Any, **kwargs: Any) -> BuildPlan:
        return replace(build_plan(*args, **kwargs), tag=tag, content_tag=tag)

    return plan


def test_a_tag_in_the_registry_is_not_built_and_its_digest_is_exported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecr = FakeEcr(images={REPOSITORY: [(OLD, ["sha-000000000000"]), (HELD, ["sha-aaaaaaaaaaaa"])]})
    run = deploy(ecr, monkeypatch, tag="sha-aaaaaaaaaaaa")
    assert run.of_type(IMAGE) == []
    assert run.exports["imageDigest"] == HELD
    assert run.exports["imageRef"] == f"{URL}@{HELD}"
    assert content_tags(ecr) == [(OLD, ["sha-000000000000"]), (HELD, ["sha-aaaaaaaaaaaa"])]
    assert [token for token, _ in run.calls][:2] == [REPOSITORIES_CALL, IMAGES_CALL]
    assert not any(token.endswith("getAuthorizationToken") for token, _ in run.calls), "no login"


def test_b_a_tag_missing_from_an_existing_repository_is_built_from_the_newest_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecr = FakeEcr(images={REPOSITORY: [(OLD, ["sha-000000000000"]), (NEWEST, [])]})
    run = deploy(ecr, monkeypatch, tag="sha-bbbbbbbbbbbb")
    (image,) = run.of_type(IMAGE)
    assert image.inputs["imageName"] == f"{URL}:sha-bbbbbbbbbbbb"
    assert image.inputs["build"]["cacheFrom"] == {"images": [f"{URL}@{NEWEST}"]}
    assert image.inputs["build"]["args"]["BUILDKIT_INLINE_CACHE"] == "1"
    assert [args for token, args in run.calls if token == IMAGE_CALL] == [
        {"mostRecent": True, "repositoryName": REPOSITORY}
    ]
    assert run.exports["imageDigest"] == ecr.tags(REPOSITORY)["sha-bbbbbbbbbbbb"]


def test_c_first_deploy_without_a_repository_builds_without_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecr = FakeEcr()
    run = deploy(ecr, monkeypatch, tag="sha-cccccccccccc")
    (image,) = run.of_type(IMAGE)
    assert "cacheFrom" not in image.inputs["build"]
    assert [token for token, _ in run.calls if token in (IMAGES_CALL, IMAGE_CALL)] == []
    assert [tags for _, tags in content_tags(ecr)] == [["sha-cccccccccccc"]]


def test_d_rollback_a_b_a_never_builds_a_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    ecr = FakeEcr()
    first = deploy(ecr, monkeypatch, tag="sha-aaaaaaaaaaaa")
    second = deploy(ecr, monkeypatch, tag="sha-bbbbbbbbbbbb")
    back = deploy(ecr, monkeypatch, tag="sha-aaaaaaaaaaaa")
    built = [
        r.inputs["imageName"].rsplit(":", 1)[1]
        for run in (first, second, back)
        for r in run.of_type(IMAGE)
    ]
    assert built == ["sha-aaaaaaaaaaaa", "sha-bbbbbbbbbbbb"]
    assert back.exports["imageDigest"] == first.exports["imageDigest"]
    assert [tags for _, tags in content_tags(ecr)] == [
        ["sha-aaaaaaaaaaaa"],
        ["sha-bbbbbbbbbbbb"],
    ]


def test_a_preview_after_a_deploy_of_the_same_commit_shows_no_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From any machine (whatever pulumi-docker's own context hash says)."""
    ecr = FakeEcr()
    deploy(ecr, monkeypatch, tag="sha-aaaaaaaaaaaa")
    with program_run(
        "prod", building(engine_config("prod")), run=ProgramRun(ecr=ecr), preview=True
    ) as run:
        assert run.of_type(IMAGE) == []
        assert [token for token, _ in run.calls][:2] == [REPOSITORIES_CALL, IMAGES_CALL]


def test_a_refused_lookup_stops_the_run_before_any_resource() -> None:
    denied = "AccessDeniedException: not authorized to perform: ecr:DescribeRepositories"
    run = ProgramRun(ecr=FakeEcr(refuse=denied))
    with (
        pytest.raises(pulumi.RunError) as caught,
        program_run("prod", building(engine_config("prod")), run=run),
    ):
        pass
    settle()
    message = str(caught.value)
    assert message.startswith("registry lookup for mlops/retail-api failed")
    assert "ecr:DescribeRepositories" in message and "\n" not in message
    assert [r.type for r in run.resources] == ["retail:infra:RetailRegistry"]


def test_the_ci_setup_grants_both_roles_describe_repositories_on_every_repository() -> None:
    """`get_repositories` (DescribeRepositories without a name) is authorised against
    `repository/*`; a role scoped to the one repository fails the lookup above."""
    text = (PROJECT_ROOT / "docs/ci-aws-setup.md").read_text()
    permissions = text[text.index("5. **Role permissions.**") : text.index("## Workflow linters")]
    blocks = re.findall(r"```json\n(.*?)```", permissions, re.DOTALL)
    assert [json.loads(block) for block in blocks] == [
        {
            "Effect": "Allow",
            "Action": "ecr:DescribeRepositories",
            "Resource": "arn:aws:ecr:<region>:<account>:repository/*",
        }
    ]
    assert "Add this statement to the deploy role's and the preview role's policy" in permissions


def test_a_mutable_override_tag_is_pushed_again_even_when_held() -> None:
    ecr = FakeEcr(images={REPOSITORY: [(HELD, ["latest"])]})
    config = {
        **building(engine_config("prod")),
        "retail-registry:tagMutability": "MUTABLE",
        "retail-registry:imageTag": "latest",
    }
    with program_run("prod", config, run=ProgramRun(ecr=ecr)) as run:
        (image,) = run.of_type(IMAGE)
        digest = resolve(pulumi.Output.from_input(run.exports["imageDigest"]))
    assert image.inputs["imageName"] == f"{URL}:latest"
    assert image.inputs["build"]["cacheFrom"] == {"images": [f"{URL}@{HELD}"]}
    assert digest != HELD and digest == ecr.tags(REPOSITORY)["latest"]


def this_build() -> str:
    """The content tag `up` computes for the committed prod stack."""
    return build_plan(SERVER_DIR, DOCKERFILE, "linux/amd64").content_tag


def test_an_immutable_override_tag_held_by_ecr_is_reused() -> None:
    """The held image says (its revision label) it was built from this very content."""
    labels = {"org.opencontainers.image.revision": this_build()}
    ecr = FakeEcr(images={REPOSITORY: [(HELD, ["v1.4.0"])]}, labels=labels)
    config = {**building(engine_config("prod")), "retail-registry:imageTag": "v1.4.0"}
    with program_run("prod", config, run=ProgramRun(ecr=ecr)) as run:
        assert run.of_type(IMAGE) == []
        assert resolve(pulumi.Output.from_input(run.exports["imageDigest"])) == HELD


def test_an_override_tag_held_with_other_content_fails_naming_both() -> None:
    labels = {"org.opencontainers.image.revision": "sha-0123456789ab"}
    ecr = FakeEcr(images={REPOSITORY: [(HELD, ["v1.4.0"])]}, labels=labels)
    config = {**building(engine_config("prod")), "retail-registry:imageTag": "v1.4.0"}
    run = ProgramRun(ecr=ecr)
    with pytest.raises(pulumi.RunError) as caught, program_run("prod", config, run=run):
        pass
    assert str(caught.value) == (
        f"imageTag v1.4.0: ECR already holds it ({HELD}), built from sha-0123456789ab, but "
        f"this build is {this_build()}; the code changed since that tag was pushed: use a new "
        "imageTag (or none, for the content tag)"
    )
    # Refused before any resource is declared: nothing is half-applied.
    assert [r.type for r in run.resources if r.type.startswith("aws:")] == []


def test_an_unlabelled_held_image_needs_its_digest_accepted() -> None:
    ecr = FakeEcr(images={REPOSITORY: [(HELD, ["v1.4.0"])]})
    config = {**building(engine_config("prod")), "retail-registry:imageTag": "v1.4.0"}
    refused = pytest.raises(pulumi.RunError, match=f"acceptUnlabelledDigest: {HELD}$")
    with refused, program_run("prod", config, run=ProgramRun(ecr=ecr)):
        pass
    accepted = {**config, "retail-registry:acceptUnlabelledDigest": HELD}
    with program_run("prod", accepted, run=ProgramRun(ecr=ecr)) as run:
        assert resolve(pulumi.Output.from_input(run.exports["imageDigest"])) == HELD


def test_choose_source_reuses_the_held_digest_and_otherwise_warms_the_build() -> None:
    held = RegistryContents(True, {"sha-aaaaaaaaaaaa": HELD}, NEWEST)
    assert choose_source("sha-aaaaaaaaaaaa", held).existing_digest == HELD
    assert choose_source("sha-aaaaaaaaaaaa", held).cache_digest is None
    assert choose_source("sha-bbbbbbbbbbbb", held).existing_digest is None
    assert choose_source("sha-bbbbbbbbbbbb", held).cache_digest == NEWEST
    moving = choose_source("sha-aaaaaaaaaaaa", held, reusable=False)
    assert (moving.existing_digest, moving.cache_digest) == (None, NEWEST)
    absent = RegistryContents(False)
    assert (
        choose_source("sha-x", absent).existing_digest,
        choose_source("sha-x", absent).cache_digest,
    ) == (None, None)


def test_digest_of_takes_the_digest_from_a_repo_digest() -> None:
    assert digest_of(f"{URL}@{HELD}") == HELD


@pytest.mark.parametrize(
    "bad",
    [
        f"{URL}:sha-aaaaaaaaaaaa",
        f"{URL}@sha256:{'ab' * 31}",
        f"{URL}@sha256:{'AB' * 32}",
        f"{URL}@sha512:{'ab' * 32}",
        "",
    ],
)
def test_digest_of_refuses_anything_but_sha256_and_64_hex(bad: str) -> None:
    with pytest.raises(ValueError, match="repoDigest: expected <repository>@sha256:<64 hex>"):
        digest_of(bad)
    assert not is_digest(bad.partition("@")[2])


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("sha256:" + "0123456789abcdef" * 4, True),
        ("sha256:" + "a" * 65, False),
        ("sha256:" + "a" * 63, False),
        ("sha256:" + "A" * 64, False),
        ("sha256:" + "ab" * 31 + "aG", False),
        ("sha512:" + "a" * 64, False),
        ("sha512:" + "a" * 128, False),
        ("SHA256:" + "a" * 64, False),
        ("a" * 64, False),
        ("sha256:", False),
        (" sha256:" + "a" * 64, False),
        (None, False),
    ],
)
def test_is_digest_accepts_only_sha256_and_64_lowercase_hex(text: object, accepted: bool) -> None:
    assert is_digest(text) is accepted


def test_every_lookup_goes_through_the_components_provider() -> None:
    """An explicit provider on the component (another account or region) reaches every invoke:
    the lookup is parented to the component, so it inherits the provider."""
    from infra.config.pulumi_reader import read_args
    from infra.registry import RetailRegistry

    def program() -> dict[str, Any]:
        provider = aws.Provider("registry-account", region="ap-southeast-1")
        options = pulumi.ResourceOptions(providers={"aws": provider})
        registry = RetailRegistry("retail-api", read_args(), options)
        return {"imageRef": registry.image_ref}

    run = ProgramRun(ecr=FakeEcr(images={REPOSITORY: [(HELD, ["sha-000000000000"])]}))
    with program_run("prod", building(engine_config("prod")), run=run, program=program):
        pass
    lookups = [p for token, p in run.call_providers if token.startswith("aws:ecr/get")]
    assert len(lookups) >= 3
    expected = (
        "urn:pulumi:prod::retail-registry::pulumi:pulumi:Stack$pulumi:providers:aws::"
        "registry-account::registry-account-id"
    )
    assert set(lookups) == {expected}
