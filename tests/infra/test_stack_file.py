"""infra/config/stack_file.py: the one reader of `Pulumi.<stack>.yaml`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.config import StackFileError, load_args, read_stack_values
from infra.config.stack_file import SECURE_STAND_IN, read_stack_file
from tests.infra.conftest import stack_values

# Pulumi.yaml's declared defaults, written out (the key table must agree: test_project_files).
DEFAULTS = {
    "repositoryName": "mlops/retail-api",
    "tagMutability": "IMMUTABLE",
    "mutableTags": [],
    "scanOnPush": True,
    "kmsKeyArn": "",
    "forceDelete": False,
    "protect": True,
    "pullPrincipals": [],
    "pushPrincipals": [],
    "pullOrganizationIds": [],
    "imagePlatform": "linux/amd64",
    "imagePlatforms": ["linux/amd64"],
    "imageTag": "",
    "scanFailSeverity": "CRITICAL",
    "scanIgnore": [],
    "scanTimeoutSeconds": 600,
    "scanMaxAgeDays": 7,
    "scanIgnoreUnfixed": False,
    "scanAcceptedDigests": [],
    "acceptUnlabelledDigest": "",
    "keepDeployed": 3,
    "pullTimeExcludedPrincipals": [],
    "managePullTimeExclusions": False,
    "promoteFrom": "",
}


def write(tmp_path: Path, text: str, stack: str = "bare") -> Path:
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_committed_stacks_read_as_written_over_the_defaults(stack: str) -> None:
    values = read_stack_values(stack)
    assert values == {**DEFAULTS, "lifecycleRules": values["lifecycleRules"], **stack_values(stack)}


def test_a_stack_without_project_keys_gets_every_default(tmp_path: Path) -> None:
    values = read_stack_values("bare", write(tmp_path, "config:\n  aws:region: eu-west-1\n"))
    rules = values.pop("lifecycleRules")
    assert values == DEFAULTS
    assert [(r["rulePriority"], r["selection"]["countNumber"]) for r in rules] == [
        (1, 1),
        (2, 9999),
        (3, 10),
        (4, 30),
    ]


def test_json_text_from_pulumi_config_set_is_decoded(tmp_path: Path) -> None:
    rules = [{"rulePriority": 1, "selection": {"tagStatus": "any"}}]
    text = "config:\n  retail-registry:lifecycleRules: " + json.dumps(json.dumps(rules)) + "\n"
    values = read_stack_values("bare", write(tmp_path, text))
    assert values["lifecycleRules"] == rules


def test_a_null_value_keeps_the_default(tmp_path: Path) -> None:
    text = (
        "config:\n"
        "  retail-registry:lifecycleRules: null\n"
        "  retail-registry:scanOnPush: ~\n"
        "  retail-registry:repositoryName:\n"
        "  retail-registry:imagePlatform: linux/arm64\n"
    )
    values = read_stack_values("bare", write(tmp_path, text))
    rules = values.pop("lifecycleRules")
    assert values == {**DEFAULTS, "imagePlatform": "linux/arm64"}
    assert [(r["rulePriority"], r["selection"]["countNumber"]) for r in rules] == [
        (1, 1),
        (2, 9999),
        (3, 10),
        (4, 30),
    ]
    args = load_args(read_stack_values("bare", tmp_path), stack="bare")
    assert json.loads(args.lifecycle.policy_json)["rules"] == rules


def test_a_null_unknown_key_is_kept_for_the_loader_to_name(tmp_path: Path) -> None:
    values = read_stack_values("bare", write(tmp_path, "config:\n  retail-registry:nope: null\n"))
    assert values["nope"] is None


def test_unknown_keys_are_kept_for_the_loader_to_name(tmp_path: Path) -> None:
    values = read_stack_values("bare", write(tmp_path, "config:\n  retail-registry:scanOnPsh: x\n"))
    assert values["scanOnPsh"] == "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config: [1, 2]\n", "config: must be a mapping"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("config: {a: [\n", "not valid YAML"),
        ("environment: org/env\n", "environment: must be a list of ESC environment names"),
    ],
)
def test_broken_files_give_one_line_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(StackFileError, match=message) as caught:
        read_stack_values("bare", write(tmp_path, text))
    assert "Pulumi.bare.yaml" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_bad_stack_names_are_errors(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match=r"Pulumi\.nowhere\.yaml: cannot read stack file"):
        read_stack_values("nowhere", tmp_path)
    with pytest.raises(StackFileError, match=r"stack '\.\./prod': a stack name is letters"):
        read_stack_values("../prod", tmp_path)


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    text = "config:\n  aws:region: ap-southeast-1\n  retail-registry:pullPrincipals: [a\n  b: 1\n"
    with pytest.raises(StackFileError) as caught:
        read_stack_values("bare", write(tmp_path, text))
    assert str(caught.value) == (
        f"{tmp_path}/Pulumi.bare.yaml:4:4: not valid YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence); fix the file's indentation or quoting there"
    )


def test_a_string_that_is_not_json_stays_a_string_for_the_loader(tmp_path: Path) -> None:
    text = "config:\n  retail-registry:mutableTags: '[oops'\n  retail-registry:pullPrincipals: x\n"
    values = read_stack_values("bare", write(tmp_path, text))
    assert (values["mutableTags"], values["pullPrincipals"]) == ("[oops", "x")


def test_secure_values_are_taken_as_present_and_listed(tmp_path: Path) -> None:
    text = (
        "config:\n"
        "  aws:secretKey:\n    secure: AAABAJ+ciphertext\n"
        "  aws:region: eu-west-1\n"
        "  retail-registry:kmsKeyArn:\n    secure: AAABAK+ciphertext\n"
        "  other-project:key: 1\n"
    )
    found = read_stack_file("bare", write(tmp_path, text))
    assert found.secure_keys == ("aws:secretKey", "retail-registry:kmsKeyArn")
    assert found.aws == {"secretKey": SECURE_STAND_IN, "region": "eu-west-1"}
    assert found.project == {}
    assert read_stack_values("bare", tmp_path)["kmsKeyArn"] == ""


@pytest.mark.parametrize(
    "text",
    [
        "environment:\n  - org/shared\n  - org/ci\nconfig: {}\n",
        "environment:\n  imports:\n    - org/shared\n    - org/ci\n",
    ],
)
def test_esc_environment_imports_are_listed(tmp_path: Path, text: str) -> None:
    assert read_stack_file("bare", write(tmp_path, text)).environments == ("org/shared", "org/ci")
