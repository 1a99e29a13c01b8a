"""`python -m infra init`: a complete, commented stack file for another account, which `check`
passes and which differs from the committed building stack only in the values given."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import check, init
from infra.config import keys_of
from infra.config.settings import RetailRegistryArgs
from infra.config.stack_file import read_stack_file
from infra.config.stack_template import render_stack_file
from infra.paths import PROJECT_ROOT

ACCOUNT = "111122223333"
PULL = f"arn:aws:iam::{ACCOUNT}:role/eks-node"
PUSH = f"arn:aws:iam::{ACCOUNT}:role/ci-deploy"
ARGS = [
    "--stack",
    "mine",
    "--account",
    ACCOUNT,
    "--region",
    "eu-west-1",
    "--pull-principal",
    PULL,
    "--push-principal",
    PUSH,
]


def config_of(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    config = document["config"]
    assert isinstance(config, dict)
    return config


def written(tmp_path: Path, *extra: str) -> Path:
    assert init.main([*ARGS, "--dir", str(tmp_path), *extra]) == 0
    return tmp_path / "Pulumi.mine.yaml"


def test_the_written_stack_passes_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written(tmp_path)
    assert capsys.readouterr().out == (
        f"wrote {tmp_path}/Pulumi.mine.yaml\n"
        f"next: python -m infra check --stack mine --dir {tmp_path}\n"
    )
    assert check.main(["--stack", "mine", "--dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  registryId = 111122223333" in lines
    assert "  region = eu-west-1" in lines
    assert f"      AllowPull: {PULL}" in lines
    assert f"      AllowPush: {PUSH}" in lines
    assert "  + docker:index/image:Image  retail-api-image" in lines


def test_it_differs_from_the_building_stack_only_in_the_values_given(tmp_path: Path) -> None:
    mine = config_of(written(tmp_path))
    dev = config_of(PROJECT_ROOT / "Pulumi.dev.yaml")
    defaults = {f"retail-registry:{key.name}": key.default for key in keys_of(RetailRegistryArgs)}
    dev_complete = {**defaults, **dev}
    changed = {
        key for key in mine.keys() | dev_complete.keys() if mine.get(key) != dev_complete.get(key)
    }
    assert changed == {
        "aws:region",
        "aws:allowedAccountIds",
        "retail-registry:pullPrincipals",
        "retail-registry:pushPrincipals",
    }
    assert (mine["aws:region"], mine["aws:allowedAccountIds"]) == ("eu-west-1", [ACCOUNT])
    assert (mine["retail-registry:pullPrincipals"], mine["retail-registry:pushPrincipals"]) == (
        [PULL],
        [PUSH],
    )


def test_as_text_only_the_lines_of_the_given_values_change(tmp_path: Path) -> None:
    dev = read_stack_file("dev")
    as_dev = render_stack_file("dev", dev.aws, dev.project).splitlines()
    mine = written(tmp_path).read_text().splitlines()
    changes = [
        line
        for line in difflib.unified_diff(as_dev, mine, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changes == [
        "-# Stack dev: every retail-registry key, with its description (infra/config/settings.py).",
        "-# Check it offline before a preview: python -m infra check --stack dev",
        "+# Stack mine: every retail-registry key, with its description "
        "(infra/config/settings.py).",
        "+# Check it offline before a preview: python -m infra check --stack mine",
        "-  aws:region: ap-southeast-1",
        "+  aws:region: eu-west-1",
        "-    - '842676018087'",
        "+    - '111122223333'",
        "-  retail-registry:pullPrincipals: []",
        "+  retail-registry:pullPrincipals:",
        f"+    - {PULL}",
        "-  retail-registry:pushPrincipals: []",
        "+  retail-registry:pushPrincipals:",
        f"+    - {PUSH}",
    ]


def test_every_key_is_written_once_under_its_description(tmp_path: Path) -> None:
    text = written(tmp_path).read_text()
    lines = text.splitlines()
    for key in keys_of(RetailRegistryArgs):
        [index] = [
            i for i, line in enumerate(lines) if line.startswith(f"  retail-registry:{key.name}:")
        ]
        comment: list[str] = []
        for line in reversed(lines[:index]):
            if not line.startswith("  # "):
                break
            comment.insert(0, line.removeprefix("  # "))
        assert " ".join(comment) == key.description


def test_repository_and_promotion_are_written_when_given(tmp_path: Path) -> None:
    path = written(
        tmp_path, "--repository", "team/api", "--promote-from", "acme/retail-registry/dev"
    )
    config = config_of(path)
    assert config["retail-registry:repositoryName"] == "team/api"
    assert config["retail-registry:promoteFrom"] == "acme/retail-registry/dev"


def test_bad_values_are_refused_with_the_loaders_messages_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [
        "--stack",
        "mine",
        "--account",
        "12345",
        "--region",
        "mars",
        "--pull-principal",
        "*",
        "--push-principal",
        "arn:aws:iam::111122223333:group/ci",
        "--dir",
        str(tmp_path),
    ]
    assert init.main(bad) == 2
    assert capsys.readouterr().err.splitlines() == [
        'init: error: aws:region = "mars": must be an AWS region such as eu-west-1',
        "init: error: aws:allowedAccountIds: '12345' is not a 12-digit account id",
        'init: error: retail-registry:pullPrincipals[0] = "*": wildcards are not allowed; name '
        "each principal's ARN",
        'init: error: retail-registry:pushPrincipals[0] = "arn:aws:iam::111122223333:group/ci": '
        "must be an IAM ARN: arn:aws:iam::<12-digit account>:root, :role/<name> or :user/<name>",
    ]
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.mine.yaml").write_text("config: {}\n")
    assert init.main([*ARGS, "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"init: error: {tmp_path}/Pulumi.mine.yaml: exists; pass --force to replace it\n"
    )
    assert (tmp_path / "Pulumi.mine.yaml").read_text() == "config: {}\n"
    assert init.main([*ARGS, "--dir", str(tmp_path), "--force"]) == 0
    assert config_of(tmp_path / "Pulumi.mine.yaml")["aws:region"] == "eu-west-1"


def test_missing_flags_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        init.main(["--stack", "mine"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "init: error: the following arguments are required: --account, --region, "
        "--pull-principal, --push-principal\n"
    )


def test_the_committed_building_stack_is_what_init_writes_for_its_values() -> None:
    """So `init`'s file differs from the committed dev file, as text, only in the given values."""
    dev = read_stack_file("dev")
    committed = (PROJECT_ROOT / "Pulumi.dev.yaml").read_text()
    assert committed == render_stack_file("dev", dev.aws, dev.project)
