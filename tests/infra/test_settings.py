"""infra/config/settings.py: one test per rule, each asserting the message names the key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import (
    DEFAULT_LIFECYCLE_RULES,
    ConfigError,
    RetailRegistryArgs,
    load_args,
    read_stack_values,
)
from infra.lifecycle.shield import DEPLOYED_TAG_PREFIX, shield_rule
from tests.infra.conftest import stack_values
from tests.infra.lifecycle.support import rule

ROLE = "arn:aws:iam::842676018087:role/mlops-retail-cluster-node-role"


def rejected(values: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_args(values, stack="test")
    return caught.value


def test_defaults_are_the_safe_choices() -> None:
    args = load_args({}, stack="dev")
    assert args == RetailRegistryArgs(stack="dev")
    assert args.repository_name == "mlops/retail-api"
    assert args.tag_mutability == "IMMUTABLE"
    assert args.scan_on_push is True
    assert args.protect is True
    assert args.force_delete is False
    assert args.kms_key_arn is None
    expire = [
        (
            r["rulePriority"],
            r["selection"]["tagStatus"],
            r["selection"].get("tagPatternList"),
            r["selection"]["countType"],
            r["selection"]["countNumber"],
        )
        for r in json.loads(args.lifecycle.policy_json)["rules"]
    ]
    assert expire == [
        (1, "untagged", None, "sinceImagePushed", 1),
        (2, "tagged", None, "imageCountMoreThan", 9999),
        (3, "tagged", ["v*"], "imageCountMoreThan", 10),
        (4, "tagged", ["sha-*"], "imageCountMoreThan", 30),
    ]
    shield = json.loads(args.lifecycle.policy_json)["rules"][1]["selection"]
    assert shield["tagPrefixList"] == ["deployed-"]
    assert [rule.priority for rule in args.lifecycle.rules] == [1, 2, 3, 4]
    assert args.lifecycle.warnings == ()
    assert args.pull_principals == args.push_principals == args.pull_organization_ids == ()


def test_engine_strings_and_yaml_values_parse_alike() -> None:
    as_yaml = {
        "scanOnPush": False,
        "scanFailSeverity": "NONE",
        "pullPrincipals": [ROLE],
        "protect": False,
    }
    as_engine = {
        "scanOnPush": "false",
        "scanFailSeverity": "none",
        "pullPrincipals": json.dumps([ROLE]),
        "protect": "false",
    }
    assert load_args(as_yaml, stack="s") == load_args(as_engine, stack="s")
    assert load_args(as_yaml, stack="s").pull_principals == (ROLE,)


@pytest.mark.parametrize(
    ("values", "key", "rule"),
    [
        ({"repositoryName": "Mlops/Retail"}, "repositoryName", "lowercase"),
        ({"repositoryName": "a"}, "repositoryName", "2 to 256"),
        ({"repositoryName": "x" * 257}, "repositoryName", "2 to 256"),
        ({"repositoryName": "mlops//retail"}, "repositoryName", "lowercase"),
        ({"repositoryName": "-mlops/retail"}, "repositoryName", "lowercase"),
        ({"tagMutability": "immutable"}, "tagMutability", "must be one of"),
        ({"tagMutability": "IMMUTABLE_WITH_EXCLUSION"}, "mutableTags", "required"),
        ({"tagMutability": "MUTABLE_WITH_EXCLUSION", "mutableTags": []}, "mutableTags", "required"),
        ({"mutableTags": ["dev-*"]}, "mutableTags", "only allowed with"),
        (
            {
                "tagMutability": "IMMUTABLE_WITH_EXCLUSION",
                "mutableTags": [f"t{i}*" for i in range(6)],
            },
            "mutableTags",
            "at most 5",
        ),
        (
            {"tagMutability": "IMMUTABLE_WITH_EXCLUSION", "mutableTags": ["dev/*"]},
            "mutableTags",
            "letters, digits",
        ),
        ({"scanOnPush": "yes"}, "scanOnPush", "boolean"),
        ({"forceDelete": 1}, "forceDelete", "boolean"),
        ({"protect": "maybe"}, "protect", "boolean"),
        ({"kmsKeyArn": "alias/ecr"}, "kmsKeyArn", "KMS key ARN"),
        ({"pullPrincipals": ["*"]}, "pullPrincipals", "wildcards are not allowed"),
        ({"pushPrincipals": ["arn:aws:iam::842676018087:role/*"]}, "pushPrincipals", "wildcard"),
        ({"pullPrincipals": ["arn:aws:iam::84267601808:role/x"]}, "pullPrincipals", "IAM ARN"),
        ({"pushPrincipals": ["arn:aws:s3:::bucket"]}, "pushPrincipals", "IAM ARN"),
        ({"pullPrincipals": "not-a-list"}, "pullPrincipals", "one string where a list belongs"),
        ({"pullPrincipals": {"a": 1}}, "pullPrincipals", "list of non-empty strings"),
        ({"pullPrincipals": [ROLE, ROLE]}, "pullPrincipals", "repeat"),
        ({"pullOrganizationIds": ["o-abc"]}, "pullOrganizationIds", "Organization ID"),
        ({"pullOrganizationIds": ["ou-abcdefghij"]}, "pullOrganizationIds", "Organization ID"),
        ({"imagePlatform": "linux/x86_64"}, "imagePlatform", "must be one of"),
        ({"imagePlatform": "windows/amd64"}, "imagePlatform", "must be one of"),
        ({"imageTag": "-bad"}, "imageTag", "Docker tag"),
        ({"imageTag": "latest"}, "imageTag", "immutable under tagMutability IMMUTABLE"),
        ({"lifecycleRules": {"rules": []}}, "lifecycleRules", "list"),
        ({"lifecycleRules": []}, "lifecycleRules", "ECR would reject"),
        ({"repositoryNme": "typo"}, "repositoryNme", "unknown key"),
        ({"scanFailSeverity": "SEVERE"}, "scanFailSeverity", "is not one of CRITICAL, HIGH"),
        ({"scanTimeoutSeconds": 0}, "scanTimeoutSeconds", "from 1 to 3600"),
        ({"scanTimeoutSeconds": "ten"}, "scanTimeoutSeconds", "from 1 to 3600"),
        ({"scanIgnore": [{"id": "CVE-2024-1", "reason": "r"}]}, "scanIgnore", "expires: required"),
        ({"scanIgnore": "not: [a, list"}, "scanIgnore", "one string where a list belongs"),
        ({"scanIgnore": "[not: [a, list"}, "scanIgnore", "not valid YAML or JSON"),
    ],
)
def test_bad_value_names_key_value_and_rule(values: dict[str, Any], key: str, rule: str) -> None:
    error = rejected(values)
    message = str(error)
    assert f"retail-registry:{key}" in message
    assert rule in message
    assert error.key == f"retail-registry:{key}"


def test_invalid_lifecycle_rule_reports_the_validator_error() -> None:
    rule = dict(DEFAULT_LIFECYCLE_RULES[0])
    rule["selection"] = {k: v for k, v in rule["selection"].items() if k != "countUnit"}
    message = str(rejected({"lifecycleRules": [rule]}))
    assert message == (
        "retail-registry:lifecycleRules[0].selection.countUnit: ECR would reject it: "
        'required ("days") for countType sinceImagePushed'
    )


def latest_with(mode: str, filters: list[str]) -> dict[str, Any]:
    """Stack values asking for the tag `latest` under `mode` and (when given) `filters`."""
    values: dict[str, Any] = {"imageTag": "latest", "tagMutability": mode}
    if filters:
        values["mutableTags"] = filters
    return values


@pytest.mark.parametrize(
    ("mode", "filters"),
    [
        ("MUTABLE", []),
        ("IMMUTABLE_WITH_EXCLUSION", ["latest"]),
        ("IMMUTABLE_WITH_EXCLUSION", ["lat*"]),
        ("MUTABLE_WITH_EXCLUSION", ["v*"]),
    ],
)
def test_latest_is_allowed_where_it_stays_mutable(mode: str, filters: list[str]) -> None:
    assert load_args(latest_with(mode, filters), stack="s").image_tag == "latest"


@pytest.mark.parametrize(
    ("mode", "filters"),
    [
        ("IMMUTABLE", []),
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*"]),
        ("MUTABLE_WITH_EXCLUSION", ["latest"]),
        ("MUTABLE_WITH_EXCLUSION", ["*"]),
    ],
)
def test_latest_is_refused_where_it_would_be_immutable(mode: str, filters: list[str]) -> None:
    message = str(rejected(latest_with(mode, filters)))
    assert "retail-registry:imageTag" in message
    assert mode in message


def test_five_mutable_tag_filters_are_the_limit_and_allowed() -> None:
    """ECR: "up to five" exclusion filters; the sixth is refused (see the table above)."""
    five = [f"t{i}*" for i in range(5)]
    args = load_args({"tagMutability": "IMMUTABLE_WITH_EXCLUSION", "mutableTags": five}, stack="s")
    assert args.mutable_tags == tuple(five)


def test_exclusion_mode_with_filters_is_accepted() -> None:
    args = load_args(
        {"tagMutability": "IMMUTABLE_WITH_EXCLUSION", "mutableTags": ["dev-*", "cache"]}, stack="s"
    )
    assert args.mutable_tags == ("dev-*", "cache")


def test_lifecycle_warnings_are_kept_for_the_program_to_log() -> None:
    multi_prefix = rule(2, prefixes=["prod", "dev"], number=10)
    shield = shield_rule(DEPLOYED_TAG_PREFIX, priority=1)
    args = load_args({"lifecycleRules": [shield, multi_prefix]}, stack="s")
    assert args.lifecycle.warnings
    assert any("tagPrefixList" in warning for warning in args.lifecycle.warnings)


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_committed_stack_files_load_cleanly(stack: str) -> None:
    args = load_args(read_stack_values(stack), stack=stack)
    assert args.lifecycle.warnings == ()
    written = stack_values(stack)["lifecycleRules"]
    assert json.loads(args.lifecycle.policy_json) == {"rules": written}


def test_prod_stack_encodes_the_product_contract() -> None:
    args = load_args(read_stack_values("prod"), stack="prod")
    assert args.repository_name == "mlops/retail-api"
    assert args.tag_mutability == "IMMUTABLE"
    assert args.protect and not args.force_delete
    assert all(":842676018087:" in arn for arn in args.pull_principals + args.push_principals)


def test_dev_stack_is_disposable() -> None:
    args = load_args(read_stack_values("dev"), stack="dev")
    assert args.force_delete and not args.protect
    assert args.repository_name != "mlops/retail-api"


def test_empty_optional_strings_mean_unset() -> None:
    """Pulumi.yaml declares `default: ""` for these; the engine passes it through."""
    args = load_args({"kmsKeyArn": "", "imageTag": ""}, stack="s")
    assert args.kms_key_arn is None
    assert args.image_tag is None


def test_scan_gate_keys_default_to_critical_nothing_ignored_ten_minutes() -> None:
    policy = load_args({}, stack="s").scan_policy
    assert (policy.fail_severity, policy.ignore, policy.timeout_seconds) == ("CRITICAL", (), 600)


def test_scan_gate_keys_from_the_engine_reach_the_policy() -> None:
    entry = {"id": "CVE-2024-12345", "expires": "2027-01-31", "reason": "no fix upstream"}
    values = {
        "scanFailSeverity": "high",
        "scanIgnore": json.dumps([entry]),
        "scanTimeoutSeconds": "120",
    }
    policy = load_args(values, stack="s").scan_policy
    assert policy.fail_severity == "HIGH"
    assert [(e.id, e.expires.isoformat(), e.reason) for e in policy.ignore] == [
        ("CVE-2024-12345", "2027-01-31", "no fix upstream")
    ]
    assert policy.timeout_seconds == 120
    assert load_args({"scanFailSeverity": "NONE"}, stack="s").scan_policy.fail_severity is None


@pytest.mark.parametrize(
    ("values", "severity"),
    [
        ({"scanOnPush": False}, "CRITICAL"),
        ({"scanOnPush": "false", "scanFailSeverity": "high"}, "HIGH"),
        ({"scanOnPush": False, "scanFailSeverity": "UNTRIAGED"}, "UNTRIAGED"),
    ],
)
def test_a_gate_without_scan_on_push_is_blamed_on_scan_on_push(
    values: dict[str, Any], severity: str
) -> None:
    error = rejected(values)
    assert (error.key, error.value) == ("retail-registry:scanOnPush", False)
    assert str(error) == (
        "retail-registry:scanOnPush = false: nothing is scanned, so the gate at "
        f"scanFailSeverity {severity} fails every `up`; write scanOnPush: true, or "
        "scanFailSeverity: NONE to deploy unscanned images"
    )


@pytest.mark.parametrize(
    ("values", "scan_on_push", "severity"),
    [
        ({"scanOnPush": False, "scanFailSeverity": "NONE"}, False, None),
        ({"scanOnPush": True, "scanFailSeverity": "LOW"}, True, "LOW"),
        ({"scanFailSeverity": "NONE"}, True, None),
    ],
)
def test_scan_on_push_and_the_gate_agree(
    values: dict[str, Any], scan_on_push: bool, severity: str | None
) -> None:
    args = load_args(values, stack="s")
    assert (args.scan_on_push, args.scan_fail_severity) == (scan_on_push, severity)


# CreateRepository's repositoryName: "Minimum length of 2. Maximum length of 256."
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
LONGEST_NAME = "mlops/" + "r" * 241 + "-api.v2_x"


@pytest.mark.parametrize("name", ["ab", "a/b", "x" * 256, LONGEST_NAME])
def test_repository_names_of_2_to_256_characters_are_accepted(name: str) -> None:
    assert len(LONGEST_NAME) == 256
    assert load_args({"repositoryName": name}, stack="s").repository_name == name


@pytest.mark.parametrize("name", ["a", "x" * 257, LONGEST_NAME + "z"])
def test_repository_names_outside_2_to_256_characters_are_refused(name: str) -> None:
    error = rejected({"repositoryName": name})
    assert (error.key, error.value, error.rule) == (
        "retail-registry:repositoryName",
        name,
        "must be 2 to 256 characters long",
    )


def test_every_problem_is_found_in_one_load_one_line_each() -> None:
    bad_rule = {
        "rulePriority": 1,
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 0},
        "action": {"type": "expire"},
    }
    error = rejected(
        {
            "lifecycleRule": [],
            "scanFailSeverity": "SEVERE",
            "pullPrincipals": ["arn:aws:iam::12:role/x", ROLE, "*"],
            "lifecycleRules": [bad_rule, "x"],
            "protect": "maybe",
        }
    )
    assert error.lines == (
        "retail-registry:lifecycleRule: unknown key; did you mean lifecycleRules?",
        'retail-registry:scanFailSeverity = "SEVERE": is not one of CRITICAL, HIGH, MEDIUM, '
        "LOW, INFORMATIONAL, UNDEFINED, UNTRIAGED, NONE",
        'retail-registry:pullPrincipals[0] = "arn:aws:iam::12:role/x": must be an IAM ARN: '
        "arn:aws:iam::<12-digit account>:root, :role/<name> or :user/<name>",
        'retail-registry:pullPrincipals[2] = "*": wildcards are not allowed; name each '
        "principal's ARN",
        "retail-registry:lifecycleRules[0].selection.countNumber: ECR would reject it: must be "
        "a positive integer, got 0",
        "retail-registry:lifecycleRules[1]: ECR would reject it: must be an object, got string",
        'retail-registry:protect = "maybe": must be a boolean (true or false)',
    )
    assert str(error) == "\n".join(error.lines)
    assert (error.key, error.value) == ("retail-registry:lifecycleRule", [])


def test_a_structured_value_is_named_by_its_path_never_printed() -> None:
    entry = {"id": "CVE-2024-1234", "expires": "2026-13-01", "reason": "x" * 300}
    error = rejected({"scanIgnore": [entry]})
    assert str(error) == (
        'retail-registry:scanIgnore[0].expires = "2026-13-01": must be a date YYYY-MM-DD'
    )


def test_a_long_scalar_is_cut_and_no_line_exceeds_200_characters() -> None:
    error = rejected({"repositoryName": "A" * 300, "imageTag": "-" + "t" * 300})
    assert [len(line) <= 200 for line in error.lines] == [True, True]
    assert error.lines[0].startswith('retail-registry:repositoryName = "' + "A" * 97 + '…": ')


def test_a_plain_string_where_a_list_belongs_says_how_to_write_the_list() -> None:
    error = rejected({"pushPrincipals": ROLE})
    assert str(error) == (
        f'retail-registry:pushPrincipals = "{ROLE}": one string where a list belongs; write a '
        "YAML list under the key, `- <entry>` per entry"
    )


def test_a_repeated_entry_is_named_by_its_index() -> None:
    error = rejected({"pullPrincipals": [ROLE, ROLE]})
    assert str(error) == (
        f'retail-registry:pullPrincipals[1] = "{ROLE}": repeats an earlier entry; list each one '
        "once"
    )


def test_a_rule_across_keys_stays_quiet_while_one_of_its_keys_is_wrong() -> None:
    error = rejected({"scanOnPush": False, "scanFailSeverity": "SEVERE"})
    assert [line.split(" = ")[0] for line in error.lines] == ["retail-registry:scanFailSeverity"]


def test_a_rule_that_could_take_a_deployed_image_is_refused_by_name() -> None:
    """A tagged rule evaluated before the deployed-* shield (or with no shield at all) could
    expire the image EKS runs: the rules select images by tag, and a deployed image also carries
    its sha-* tag."""
    sha_first = rule(1, patterns=["sha-*"], number=30)
    shield = shield_rule(DEPLOYED_TAG_PREFIX, priority=2)
    with pytest.raises(ConfigError) as caught:
        load_args({"lifecycleRules": [sha_first, shield]}, stack="s")
    assert str(caught.value) == (
        "retail-registry:lifecycleRules[0]: rulePriority 1 could expire a deployed image "
        "(tagged deployed-*); before it, keep them: tagPrefixList [deployed-], "
        "imageCountMoreThan 9999"
    )
    with pytest.raises(ConfigError, match=r"lifecycleRules\[0\]: rulePriority 1 could expire"):
        load_args({"lifecycleRules": [sha_first]}, stack="s")
    # After the shield even "any" cannot reach a deployed image (AWS: a rule cannot expire an
    # image a higher-priority rule's tags matched).
    everything = rule(3, "any", number=5)
    rules = [shield_rule(DEPLOYED_TAG_PREFIX, 1), everything]
    args = load_args({"lifecycleRules": rules}, stack="s")
    assert [r.priority for r in args.lifecycle.rules] == [1, 3]


def test_pull_time_exclusions_take_roles_only() -> None:
    user = "arn:aws:iam::842676018087:user/alice"
    with pytest.raises(ConfigError, match="ECR excludes only IAM roles"):
        load_args({"pullTimeExcludedPrincipals": [user]}, stack="s")
