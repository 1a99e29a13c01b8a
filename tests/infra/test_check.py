"""`python -m infra check`: every config error at once, the policy pack's verdict and the offline
plan, with exit 0 / 1 / 2; no AWS call is made."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import pytest
import yaml

from infra.cli.check import main
from infra.paths import PROJECT_ROOT
from testkit.cli import run_module

ROLE = "arn:aws:iam::842676018087:role/mlops-retail-cluster-node-role"
TAG = re.compile(r"sha-[0-9a-f]{12}")

REPOSITORY_LINES = [
    "  + aws:ecr/repository:Repository  retail-api-repo",
    "      name mlops/retail-api",
    "      tags IMMUTABLE; scanOnPush true",
    "      encryption AES256",
    "      forceDelete false; protect true",
]
PROD_POLICY_LINES = [
    "  + aws:ecr/repositoryPolicy:RepositoryPolicy  retail-api-policy",
    "      AllowPull: arn:aws:iam::842676018087:role/mlops-retail-cluster-node-role",
    "      AllowPush: arn:aws:iam::842676018087:role/retail-registry-ci-deploy",
]
PROD_OUTPUT_LINES = [
    "outputs the EKS project reads:",
    "  repositoryName = mlops/retail-api",
    "  repositoryUrl = 842676018087.dkr.ecr.ap-southeast-1.amazonaws.com/mlops/retail-api",
    "  repositoryArn = arn:aws:ecr:ap-southeast-1:842676018087:repository/mlops/retail-api",
    "  registryId = 842676018087",
    "  region = ap-southeast-1",
]
DEV_IMAGE_LINES = [
    "  + docker:index/image:Image  retail-api-image",
    "      name 842676018087.dkr.ecr.ap-southeast-1.amazonaws.com/mlops-dev/retail-api:sha-TAG",
    "      built from server/ for linux/amd64, pushed on `up`",
]
DEV_OUTPUT_LINES = [
    "  imageTag = sha-TAG",
    "  imageUri = 842676018087.dkr.ecr.ap-southeast-1.amazonaws.com/mlops-dev/retail-api:sha-TAG",
    "  imageDigest = sha256:… (known after `up`)",
    "  imageRef = 842676018087.dkr.ecr.ap-southeast-1.amazonaws.com/mlops-dev/retail-api@sha256:… "
    "(known after `up`)",
    "  imageScan = (known after `up`)",
    "  imageSbomSha256 = (known after `up`)",
    "  imagePlatformDigests = (known after `up`)",
    "OK stack dev: config, program and mandatory policies pass offline",
]


def block(lines: list[str], first: str, length: int) -> list[str]:
    start = lines.index(first)
    return lines[start : start + length]


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(list(args))
    return code, TAG.sub("sha-TAG", capsys.readouterr().out).splitlines()


def broken_copy(tmp_path: Path, old: str, new: str, stack: str = "dev") -> Path:
    """`Pulumi.<stack>.yaml` as committed, with `old` replaced by `new`, in `tmp_path`."""
    text = (PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert old in text, f"{old!r} is not in Pulumi.{stack}.yaml"
    (tmp_path / "Pulumi.broken.yaml").write_text(text.replace(old, new, 1))
    return tmp_path


def test_the_prod_stack_passes_and_its_plan_lists_what_up_creates() -> None:
    # A fresh interpreter, as users run it: prod promotes, and other tests' promotion fakes
    # live in this process.
    result = run_module("infra", "check", "--stack", "prod", timeout=120)
    code, lines = result.returncode, TAG.sub("sha-TAG", result.stdout).splitlines()
    assert (code, result.stderr) == (0, "")
    assert lines[-1] == "OK stack prod: config, program and mandatory policies pass offline"
    assert block(lines, REPOSITORY_LINES[0], 5) == REPOSITORY_LINES
    assert block(lines, PROD_POLICY_LINES[0], 3) == PROD_POLICY_LINES
    assert block(lines, PROD_OUTPUT_LINES[0], 6) == PROD_OUTPUT_LINES
    assert "  + aws:ecr/lifecyclePolicy:LifecyclePolicy  retail-api-lifecycle" in lines
    assert "      rule 1: untagged images: expire 1 days after push" in lines
    assert (
        "      copies the gated imageRef of acme/retail-registry/dev by digest; builds nothing"
        in lines
    )


def test_the_dev_stack_passes_and_builds_the_image(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = check(capsys, "--stack", "dev")
    assert code == 0
    assert "      forceDelete true; protect false" in lines
    assert block(lines, DEV_IMAGE_LINES[0], 3) == DEV_IMAGE_LINES
    assert lines[-len(DEV_OUTPUT_LINES) :] == DEV_OUTPUT_LINES
    rules = [line for line in lines if line.startswith("      rule ")]
    assert rules[0] == "      rule 1: untagged images: expire 1 days after push"
    assert rules[-1].endswith(": tagged pattern sha-*: keep the 10 newest, expire the rest")
    assert (
        "warning: scan gate: image sha256:…: BatchGetImage failed: NotCheckedOffline: not "
        "checked offline: this run makes no AWS calls in 842676018087/ap-southeast-1 (preview)"
        in lines
    )


def test_no_aws_session_is_built(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    monkeypatch.setattr(boto3, "Session", lambda **kwargs: built.append(kwargs))
    assert check(capsys, "--stack", "prod")[0] == 0
    assert built == []
    assert boto3.Session is not None


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        (
            "retail-registry:pullPrincipals: []",
            "retail-registry:pullPrincipals:\n    - arn:aws:iam::84267601808:role/x",
            'retail-registry:pullPrincipals[0] = "arn:aws:iam::84267601808:role/x": must be an '
            "IAM ARN: arn:aws:iam::<12-digit account>:root, :role/<name> or :user/<name>",
        ),
        (
            "retail-registry:scanFailSeverity: CRITICAL",
            "retail-registry:scanFailSeverity: SEVERE",
            'retail-registry:scanFailSeverity = "SEVERE": is not one of CRITICAL, HIGH, MEDIUM, '
            "LOW, INFORMATIONAL, UNDEFINED, UNTRIAGED, NONE",
        ),
        (
            "retail-registry:lifecycleRules:",
            "retail-registry:lifecycleRule:",
            "retail-registry:lifecycleRule: unknown key; did you mean lifecycleRules?",
        ),
        (
            "retail-registry:pushPrincipals: []",
            f"retail-registry:pushPrincipals: {ROLE}",
            f'retail-registry:pushPrincipals = "{ROLE}": one string where a list belongs; '
            "write a YAML list under the key, `- <entry>` per entry",
        ),
        (
            "retail-registry:scanOnPush: true",
            "retail-registry:scanOnPush: false",
            "retail-registry:scanOnPush = false: nothing is scanned, so the gate at "
            "scanFailSeverity CRITICAL fails every `up`; write scanOnPush: true, or "
            "scanFailSeverity: NONE to deploy unscanned images",
        ),
        (
            "aws:region: ap-southeast-1",
            "aws:region: ap-southeast-1\n  aws:noProxy: localhost",
            "aws:noProxy: not supported: botocore takes proxies per scheme but no list of hosts "
            "that bypass them; remove it",
        ),
        (
            "aws:region: ap-southeast-1",
            "aws:regoin: ap-southeast-1",
            "aws:regoin: unknown to this program, so its AWS calls could not follow it; did you "
            "mean aws:region?",
        ),
    ],
)
def test_a_broken_value_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, old: str, new: str, line: str
) -> None:
    folder = broken_copy(tmp_path, old, new)
    code, lines = check(capsys, "--stack", "broken", "--dir", str(folder))
    assert (code, lines) == (1, [line, "FAIL stack broken: 1 error"])


def test_three_errors_at_once_each_on_its_own_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = broken_copy(
        tmp_path, "retail-registry:forceDelete: true", "retail-registry:forceDelete: maybe"
    )
    text = (folder / "Pulumi.broken.yaml").read_text()
    text = text.replace(
        "retail-registry:imagePlatform: linux/amd64",
        "retail-registry:imagePlatform: linux/x86_64",
        1,
    )
    text = text.replace(
        "retail-registry:pullPrincipals: []", "retail-registry:pullPrincipals: ['*']", 1
    )
    (folder / "Pulumi.broken.yaml").write_text(text)
    code, lines = check(capsys, "--stack", "broken", "--dir", str(folder))
    assert code == 1
    assert lines == [
        'retail-registry:forceDelete = "maybe": must be a boolean (true or false)',
        'retail-registry:pullPrincipals[0] = "*": wildcards are not allowed; name each '
        "principal's ARN",
        'retail-registry:imagePlatform = "linux/x86_64": must be one of linux/amd64, '
        "linux/arm64, linux/arm64/v8",
        "FAIL stack broken: 3 errors",
    ]
    assert max(map(len, lines)) <= 200


def test_a_lifecycle_rule_error_is_named_by_its_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = broken_copy(tmp_path, "countNumber: 1\n", "countNumber: 0\n")
    code, lines = check(capsys, "--stack", "broken", "--dir", str(folder))
    assert (code, lines) == (
        1,
        [
            "retail-registry:lifecycleRules[0].selection.countNumber: ECR would reject it: must "
            "be a positive integer, got 0",
            "FAIL stack broken: 1 error",
        ],
    )


def test_a_yaml_syntax_error_keeps_file_line_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = broken_copy(tmp_path, "retail-registry:protect: false", "retail-registry:protect: [")
    code, lines = check(capsys, "--stack", "broken", "--dir", str(folder))
    assert code == 1
    assert re.fullmatch(
        rf"{re.escape(str(folder))}/Pulumi\.broken\.yaml:\d+:\d+: not valid YAML: .+", lines[0]
    )
    assert lines[1:] == ["FAIL stack broken: 1 error"]


def test_a_mandatory_policy_violation_fails_the_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = broken_copy(
        tmp_path,
        "retail-registry:forceDelete: true",
        "retail-registry:forceDelete: true\n  retail-registry:tagMutability: MUTABLE",
    )
    code, lines = check(capsys, "--stack", "broken", "--dir", str(folder))
    assert code == 1
    assert (
        "policy ecr-tags-immutable (mandatory): imageTagMutability is 'MUTABLE'; it must be "
        "IMMUTABLE or IMMUTABLE_WITH_EXCLUSION so a tag never moves." in lines
    )
    assert "      tags MUTABLE; scanOnPush true" in lines, "the plan is still printed"
    assert lines[-1] == "FAIL stack broken: 1 error"


def test_secure_values_and_esc_imports_are_noted_not_failed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = broken_copy(
        tmp_path,
        "config:\n",
        "environment:\n  - retail/shared\nconfig:\n"
        "  aws:accessKey: AKIAEXAMPLE\n  aws:secretKey:\n    secure: AAABAJciphertext\n",
    )
    code, lines = check(capsys, "--stack", "broken", "--dir", str(folder))
    assert code == 0
    assert lines[:2] == [
        "note: aws:secretKey: a secure: value, taken as present; its plaintext is not checked "
        "offline",
        "note: environment: retail/shared: ESC imports are not checked offline; values they "
        "set are not seen here",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["check", "--stack", "nowhere"],
            f"check: error: {PROJECT_ROOT}/Pulumi.nowhere.yaml: no such stack file; write one "
            "with `python -m infra init`",
        ),
        (["check", "--stack", "../prod"], "check: error: stack '../prod': a stack name is letters"),
        (["check"], "check: error: the following arguments are required: --stack"),
        (["check", "--stack", "prod", "--color"], "check: error: unrecognized arguments: --color"),
        (["plan"], "usage: python -m infra {check,init} [--help]"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = run_module("infra", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith(message)


def test_ci_checks_both_stacks_before_any_preview_or_deploy() -> None:
    ci = yaml.safe_load((PROJECT_ROOT / ".github/workflows/ci.yml").read_text())
    runs = [step.get("run", "") for step in ci["jobs"]["checks"]["steps"]]
    [check_step] = [run for run in runs if "make check" in run]
    assert check_step.splitlines() == ["make check STACK=prod", "make check STACK=dev"]
    assert runs.index(check_step) < runs.index("make test")
    assert ci["jobs"]["preview-prod"]["needs"] == "checks"
    assert ci["jobs"]["up-dev"]["needs"] == "checks"


def test_help_lists_the_commands() -> None:
    result = run_module("infra", "--help")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "usage: python -m infra {check,init} [--help]\n"
        "  check  check a stack offline\n"
        "  init   write a stack file\n"
    )
