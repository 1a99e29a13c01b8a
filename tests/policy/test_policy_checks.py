"""The pure policy checks, with compliant and non-compliant property dicts."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import DEFAULT_LIFECYCLE_RULES
from infra.config.lifecycle_rules import lifecycle_rules
from infra.lifecycle import LifecycleAnalysis, analyse
from policy import checks
from tests.policy.conftest import policy_props

GOOD_REPOSITORY: dict[str, Any] = {
    "name": "retail-api",
    "imageTagMutability": "IMMUTABLE",
    "imageScanningConfiguration": {"scanOnPush": True},
    "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn:aws:kms:key/1"}],
    "forceDelete": False,
}
GOOD_LIFECYCLE_DOC: dict[str, Any] = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "expire untagged images after 14 days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        }
    ]
}


def _repo(**overrides: Any) -> dict[str, Any]:
    return {**GOOD_REPOSITORY, **overrides}


@pytest.mark.parametrize("mode", ["IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"])
def test_immutable_modes_pass(mode: str) -> None:
    assert checks.check_tag_immutability(_repo(imageTagMutability=mode)) == []


@pytest.mark.parametrize("mode", ["MUTABLE", "MUTABLE_WITH_EXCLUSION", None])
def test_mutable_or_unset_tags_fail_naming_the_field(mode: str | None) -> None:
    [message] = checks.check_tag_immutability(_repo(imageTagMutability=mode))
    assert "imageTagMutability" in message
    assert "IMMUTABLE" in message


def test_exclusion_filter_that_matches_every_tag_fails() -> None:
    filters = [
        {"filter": "latest", "filterType": "WILDCARD"},
        {"filter": "**", "filterType": "WILDCARD"},
    ]
    repo = _repo(
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters=filters
    )
    [message] = checks.check_tag_immutability(repo)
    assert message.startswith("imageTagMutabilityExclusionFilters[1].filter '**'")
    repo["imageTagMutabilityExclusionFilters"] = filters[:1]
    assert checks.check_tag_immutability(repo) == []


def test_scan_on_push_required() -> None:
    assert checks.check_scan_on_push(GOOD_REPOSITORY) == []
    off = _repo(imageScanningConfiguration={"scanOnPush": False})
    assert "scanOnPush" in checks.check_scan_on_push(off)[0]
    assert checks.check_scan_on_push({"name": "x"}) != []


def test_valid_lifecycle_policy_passes() -> None:
    props = policy_props(GOOD_LIFECYCLE_DOC)
    assert checks.check_lifecycle_policy(props) == []


def test_project_lifecycle_builder_output_passes() -> None:
    props = {
        "repository": "retail-api",
        # What the program hands aws.ecr.LifecyclePolicy for the default rules.
        "policy": lifecycle_rules("lifecycleRules", list(DEFAULT_LIFECYCLE_RULES)).policy_json,
    }
    assert checks.check_lifecycle_policy(props) == []


def test_lifecycle_policy_rejected_by_validator_fails() -> None:
    bad = {"rules": [{"rulePriority": 1, "selection": {}, "action": {"type": "delete"}}]}
    found = checks.check_lifecycle_policy(policy_props(bad))
    assert all(m.startswith("policy rejected by the lifecycle validator: ") for m in found)
    assert any("action.type" in m for m in found)
    assert any("selection.tagStatus" in m for m in found)


def _tagged_rule(priority: int, prefix: str, keep: int) -> dict[str, Any]:
    selection = {
        "tagStatus": "tagged",
        "tagPrefixList": [prefix],
        "countType": "imageCountMoreThan",
        "countNumber": keep,
    }
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def test_validator_warnings_are_advisory_not_mandatory() -> None:
    # Rule 2 is shadowed by rule 1: legal for ECR, but it can never act.
    shadowed = {"rules": [_tagged_rule(1, "v", 10), _tagged_rule(2, "v1", 5)]}
    props = policy_props(shadowed)
    assert checks.check_lifecycle_policy(props) == []
    [warning] = checks.lifecycle_policy_warnings(props)
    assert warning.startswith("lifecycle validator warning: rule 2")


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", None])
def test_unparseable_lifecycle_policy_names_the_field(text: str | None) -> None:
    [message] = checks.check_lifecycle_policy({"repository": "r", "policy": text})
    assert message.startswith("policy ")


def test_warnings_only_for_parseable_documents() -> None:
    assert checks.lifecycle_policy_warnings({"policy": "{oops"}) == []
    assert checks.lifecycle_policy_warnings(policy_props(GOOD_LIFECYCLE_DOC)) == []


def test_image_platform_required() -> None:
    assert checks.check_image_platform({"build": {"platform": "linux/amd64"}}) == []
    for props in ({"build": {"context": "server"}}, {"build": {"platform": " "}}, {}):
        assert "build.platform" in checks.check_image_platform(props)[0]


def test_kms_encryption_is_advised() -> None:
    assert checks.check_kms_encryption(GOOD_REPOSITORY) == []
    aes = _repo(encryptionConfigurations=[{"encryptionType": "AES256"}])
    assert checks.check_kms_encryption(aes) == [
        "encryptionConfigurations uses AES256; KMS or KMS_DSSE gives key policy control and audit."
    ]
    assert checks.check_kms_encryption(_repo(encryptionConfigurations=None)) == [
        "encryptionConfigurations uses AES256 (the default); KMS or KMS_DSSE gives key policy "
        "control and audit."
    ]


@pytest.mark.parametrize("kind", ["KMS", "KMS_DSSE"])
def test_both_kms_encryption_types_satisfy_the_advice(kind: str) -> None:
    # KMS_DSSE is dual-layer encryption under a KMS key, not a form of AES256.
    kms = _repo(encryptionConfigurations=[{"encryptionType": kind, "kmsKey": "arn:k"}])
    assert checks.check_kms_encryption(kms) == []


def test_force_delete_flagged_only_on_prod() -> None:
    forced = _repo(forceDelete=True)
    assert "forceDelete" in checks.check_force_delete(forced, "prod")[0]
    assert checks.check_force_delete(forced, "dev") == []
    assert checks.check_force_delete(GOOD_REPOSITORY, "prod") == []


def test_stack_from_urn() -> None:
    urn = "urn:pulumi:prod::retail-registry::retail:infra:Registry$aws:ecr/repository:Repository::r"
    assert checks.stack_from_urn(urn) == "prod"
    with pytest.raises(ValueError, match="urn"):
        checks.stack_from_urn("prod::retail-registry")


def _stack(*resources: tuple[str, str, dict[str, Any]]) -> list[checks.StackResource]:
    return [checks.StackResource(t, f"urn:pulumi:prod::p::{t}::{n}", p) for t, n, p in resources]


def test_every_repository_needs_an_accepted_lifecycle_policy() -> None:
    stack = _stack(
        (checks.REPOSITORY_TYPE, "covered", _repo(name="covered")),
        (checks.REPOSITORY_TYPE, "bare", _repo(name="bare")),
        (checks.REPOSITORY_TYPE, "broken", _repo(name="broken")),
        (
            checks.LIFECYCLE_POLICY_TYPE,
            "l1",
            policy_props(GOOD_LIFECYCLE_DOC, "covered"),
        ),
        (checks.LIFECYCLE_POLICY_TYPE, "l2", {"repository": "broken", "policy": '{"rules": 5}'}),
    )
    found = dict(checks.check_repositories_have_lifecycle(stack))
    assert set(found) == {stack[1].urn, stack[2].urn}
    assert "no LifecyclePolicy" in found[stack[1].urn]
    assert "rejected by the validator" in found[stack[2].urn]


def test_stack_without_repositories_passes() -> None:
    assert checks.check_repositories_have_lifecycle([]) == []


def test_each_lifecycle_policy_is_analysed_once_by_the_three_policies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ecr-lifecycle-policy-valid, ecr-lifecycle-policy-warnings and the stack check all read the
    # same LifecyclePolicy: one parse and one analyse for that resource.
    analysed: list[Any] = []

    def counting(document: object) -> LifecycleAnalysis:
        analysed.append(document)
        return analyse(document)

    monkeypatch.setattr(checks, "analyse", counting)
    checks._analyse_text.cache_clear()
    props = policy_props(GOOD_LIFECYCLE_DOC, "covered")
    assert checks.check_lifecycle_policy(props) == []
    assert checks.lifecycle_policy_warnings(props) == []
    stack = _stack(
        (checks.REPOSITORY_TYPE, "covered", _repo(name="covered")),
        (checks.LIFECYCLE_POLICY_TYPE, "l", props),
    )
    assert checks.check_repositories_have_lifecycle(stack) == []
    assert analysed == [GOOD_LIFECYCLE_DOC]
