"""imagePlatforms: the parser, the precedence over imagePlatform, child tags and the tag."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from infra.config.loader import ConfigWarning, load_args
from infra.config.parsers import ConfigError
from infra.image_tag import build_plan
from infra.multiarch.deploy import child_plan
from infra.multiarch.platforms import child_tag, oci_platform
from infra.paths import DOCKERFILE, SERVER_DIR


def test_the_default_is_one_amd64_platform() -> None:
    args = load_args({}, stack="dev")
    assert (args.image_platform, args.image_platforms) == ("linux/amd64", ("linux/amd64",))


def test_image_platform_alone_keeps_working() -> None:
    args = load_args({"imagePlatform": "linux/arm64"}, stack="dev")
    assert (args.image_platform, args.image_platforms) == ("linux/arm64", ("linux/arm64",))


def test_image_platforms_sets_the_default_platform_to_its_first() -> None:
    args = load_args({"imagePlatforms": ["linux/arm64", "linux/amd64"]}, stack="dev")
    assert args.image_platforms == ("linux/arm64", "linux/amd64")
    assert args.image_platform == "linux/arm64"


def test_both_keys_set_image_platforms_wins_with_a_warning() -> None:
    with pytest.warns(ConfigWarning) as caught:
        args = load_args(
            {"imagePlatform": "linux/arm64", "imagePlatforms": '["linux/amd64","linux/arm64"]'},
            stack="dev",
        )
    assert args.image_platforms == ("linux/amd64", "linux/arm64")
    assert args.image_platform == "linux/amd64"
    assert str(caught[0].message) == (
        "retail-registry:imagePlatform (linux/arm64) is ignored: retail-registry:imagePlatforms "
        "(linux/amd64, linux/arm64) is set and wins; remove imagePlatform from the stack file"
    )


def test_defaults_filled_in_for_both_keys_warn_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        args = load_args(
            {"imagePlatform": "linux/amd64", "imagePlatforms": ["linux/amd64"]}, stack="dev"
        )
    assert args.image_platforms == ("linux/amd64",)


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (
            [],
            "retail-registry:imagePlatforms: must list at least one platform of linux/amd64, "
            "linux/arm64, linux/arm64/v8",
        ),
        (
            ["linux/amd64", "linux/s390x"],
            'retail-registry:imagePlatforms[1] = "linux/s390x": '
            "must be one of linux/amd64, linux/arm64, linux/arm64/v8",
        ),
        (
            ["linux/arm64", "linux/arm64/v8"],
            "retail-registry:imagePlatforms[1] = "
            '"linux/arm64/v8": is the same platform as linux/arm64 (Docker reads arm64 as '
            "arm64/v8); list each architecture once",
        ),
        (
            ["linux/amd64", "linux/amd64"],
            'retail-registry:imagePlatforms[1] = "linux/amd64": '
            "repeats an earlier entry; list each one once",
        ),
    ],
)
def test_bad_platform_sets_name_the_entry_and_the_rule(value: object, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_args({"imagePlatforms": value}, stack="dev")
    assert str(caught.value) == line


def test_child_tags_keep_the_tag_and_its_prefix() -> None:
    assert child_tag("sha-0123456789ab", "linux/amd64") == "sha-0123456789ab-amd64"
    assert child_tag("sha-0123456789ab", "linux/arm64/v8") == "sha-0123456789ab-arm64"
    assert child_tag("v1.4.0", "linux/arm64") == "v1.4.0-arm64"


def test_oci_platform_objects() -> None:
    assert oci_platform("linux/amd64") == {"architecture": "amd64", "os": "linux"}
    assert oci_platform("linux/arm64/v8") == {
        "architecture": "arm64",
        "os": "linux",
        "variant": "v8",
    }


def test_one_platform_keeps_its_tag_and_a_set_gets_another() -> None:
    one = build_plan(SERVER_DIR, DOCKERFILE, "linux/amd64")
    same = build_plan(SERVER_DIR, DOCKERFILE, ["linux/amd64"])
    both = build_plan(SERVER_DIR, DOCKERFILE, ["linux/amd64", "linux/arm64"])
    swapped = build_plan(SERVER_DIR, DOCKERFILE, ["linux/arm64", "linux/amd64"])
    assert same.tag == one.tag
    assert len({one.tag, both.tag, swapped.tag}) == 3
    assert (both.platform, both.platforms) == ("linux/amd64", ("linux/amd64", "linux/arm64"))


def test_a_child_plan_builds_one_platform_with_the_index_revision() -> None:
    plan = build_plan(SERVER_DIR, DOCKERFILE, ["linux/amd64", "linux/arm64"])
    child = child_plan(plan, "linux/arm64")
    assert child.tag == f"{plan.tag}-arm64"
    assert (child.platform, child.platforms) == ("linux/arm64", ("linux/arm64",))
    assert child.build_args == plan.build_args
    assert child.build_args["REVISION"] == plan.content_tag
    assert Path(child.context) == Path(plan.context)
