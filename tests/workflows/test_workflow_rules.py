"""Properties of the CI/CD workflow itself: triggers, pinning, OIDC, permissions, concurrency."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SHA_PIN = re.compile(
    r"^\s*(?:-\s*)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s*v\d+(\.\d+)*\s*$",
    re.MULTILINE,
)
AWS_ACTION = "aws-actions/configure-aws-credentials"
PULUMI_ACTION = "pulumi/actions"


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def _all_steps(ci: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in ci["jobs"].items():
        for step in _steps(job):
            yield name, step


def _pulumi_steps(ci: dict[str, Any], command: str) -> dict[str, dict[str, Any]]:
    return {
        job: step["with"]
        for job, step in _all_steps(ci)
        if _uses(step, PULUMI_ACTION) and step["with"]["command"] == command
    }


def test_triggers_are_pull_requests_and_pushes_to_main(ci: dict[str, Any]) -> None:
    assert ci["on"]["pull_request"]["branches"] == ["main"]
    assert ci["on"]["push"]["branches"] == ["main"]


def test_every_action_is_pinned_to_a_full_sha_with_a_version_comment(
    workflow_paths: list[Path],
) -> None:
    for path in workflow_paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"^\s*(-\s*)?uses:", line):
                assert SHA_PIN.match(line), f"{path.name}:{number}: not SHA-pinned: {line.strip()}"


def test_each_action_is_pinned_to_one_sha_everywhere(workflow_paths: list[Path]) -> None:
    pins: dict[str, set[str]] = {}
    for path in workflow_paths:
        for match in SHA_PIN.finditer(path.read_text(encoding="utf-8")):
            pins.setdefault(match.group(1), set()).add(match.group(2))
    assert pins, "no pinned actions found"
    assert {a: s for a, s in pins.items() if len(s) > 1} == {}


def test_no_long_lived_aws_keys(workflow_paths: list[Path]) -> None:
    for path in workflow_paths:
        text = path.read_text(encoding="utf-8")
        for forbidden in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws-access-key-id"):
            assert forbidden not in text, f"{path.name} mentions {forbidden}"


def test_top_level_permissions_are_empty_and_every_job_declares_its_own(
    ci: dict[str, Any],
) -> None:
    assert ci["permissions"] == {}
    for name, job in ci["jobs"].items():
        assert "permissions" in job, f"job {name} must declare permissions"
        assert job["permissions"].get("contents") == "read", name
        writes = {k for k, v in job["permissions"].items() if v == "write"}
        assert writes <= {"id-token", "pull-requests"}, f"{name} writes {writes}"


def test_id_token_write_only_in_jobs_that_assume_an_aws_role(ci: dict[str, Any]) -> None:
    for name, job in ci["jobs"].items():
        aws_steps = [s for s in _steps(job) if _uses(s, AWS_ACTION)]
        has_oidc = job["permissions"].get("id-token") == "write"
        assert has_oidc == bool(aws_steps), f"job {name}: id-token write iff it assumes a role"
        for step in aws_steps:
            assert step["with"]["role-to-assume"].startswith("${{ secrets.AWS_")
            assert set(step["with"]) <= {"role-to-assume", "role-session-name", "aws-region"}


def test_pr_comment_permission_only_on_the_preview_job(ci: dict[str, Any]) -> None:
    writers = {n for n, j in ci["jobs"].items() if j["permissions"].get("pull-requests")}
    assert writers == {"preview-prod"}


def test_preview_runs_prod_with_the_policy_pack_and_comments(ci: dict[str, Any]) -> None:
    previews = _pulumi_steps(ci, "preview")
    assert list(previews) == ["preview-prod"]
    preview = previews["preview-prod"]
    assert preview["stack-name"] == "prod"
    # pulumi/actions turns policyPacks into `--policy-pack policy` and diff into `--diff`.
    assert preview["policyPacks"] == "policy"
    assert preview["diff"] is True
    assert preview["comment-on-pr"] is True
    job = ci["jobs"]["preview-prod"]
    assert "pull_request" in job["if"]
    assert job["needs"] == "checks"


def test_dependabot_pull_requests_skip_the_preview_but_run_the_checks(ci: dict[str, Any]) -> None:
    # Dependabot's runs get no Actions secrets, so a preview (secrets, OIDC role) would fail.
    condition = " ".join(ci["jobs"]["preview-prod"]["if"].split())
    assert condition == (
        "github.event_name == 'pull_request' && "
        "github.event.pull_request.head.repo.full_name == github.repository && "
        "github.actor != 'dependabot[bot]'"
    )
    assert "if" not in ci["jobs"]["checks"]
    # Every other job that reads secrets runs on pushes to main only, never on a pull request.
    secret_jobs = {name for name, job in ci["jobs"].items() if "secrets." in str(job)}
    assert secret_jobs == {"preview-prod", "up-dev", "up-prod"}
    for name in secret_jobs - {"preview-prod"}:
        assert ci["jobs"][name]["if"].startswith("github.event_name == 'push'"), name


def test_up_runs_dev_then_prod_only_on_main(ci: dict[str, Any]) -> None:
    ups = _pulumi_steps(ci, "up")
    assert {job: w["stack-name"] for job, w in ups.items()} == {"up-dev": "dev", "up-prod": "prod"}
    assert all(w["policyPacks"] == "policy" for w in ups.values())
    assert ci["jobs"]["up-dev"]["needs"] == "checks"
    assert ci["jobs"]["up-prod"]["needs"] == "up-dev"
    for job in ("up-dev", "up-prod"):
        condition = ci["jobs"][job]["if"]
        assert "github.event_name == 'push'" in condition
        assert "refs/heads/main" in condition


def test_one_update_at_a_time_per_stack(ci: dict[str, Any]) -> None:
    groups = {}
    for job, step in _pulumi_steps(ci, "up").items():
        concurrency = ci["jobs"][job]["concurrency"]
        assert step["stack-name"] in concurrency["group"]
        # Cancelling a running `pulumi up` would leave pending operations behind.
        assert concurrency["cancel-in-progress"] is False
        groups[step["stack-name"]] = concurrency["group"]
    assert len(set(groups.values())) == len(groups) == 2


def test_pulumi_jobs_get_token_from_secrets_and_deps_from_the_lock(ci: dict[str, Any]) -> None:
    for job_name, job in ci["jobs"].items():
        runs = [s.get("run", "") for s in _steps(job)]
        assert "uv sync --frozen" in runs, f"{job_name} must install from uv.lock"
        for step in _steps(job):
            if _uses(step, PULUMI_ACTION):
                token = step["env"]["PULUMI_ACCESS_TOKEN"]
                assert token == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
                assert job.get("environment"), f"{job_name}: secrets belong to an environment"


def test_checks_job_runs_the_suite_once_strictly_and_lints_only_through_it(
    ci: dict[str, Any],
) -> None:
    job = ci["jobs"]["checks"]
    runs = [s.get("run", "") for s in _steps(job)]
    assert runs.count("make test") == 1
    assert job["env"] == {"REQUIRE_DOCKER": "1"}
    # The suite runs ruff and mypy (tests/test_lint.py); a second run in CI is wasted minutes.
    for run in runs:
        assert not re.search(r"\b(make lint|ruff|mypy)\b", run), f"checks job lints again: {run}"


def test_every_pulumi_step_creates_a_missing_stack(ci: dict[str, Any]) -> None:
    # pulumi/actions' `upsert` = `pulumi stack select --create`: a first run must not fail.
    steps = [step for _, step in _all_steps(ci) if _uses(step, PULUMI_ACTION)]
    assert len(steps) == 3
    for step in steps:
        assert step["with"]["upsert"] is True, step["with"]["stack-name"]


def test_checkout_never_persists_the_token(ci: dict[str, Any]) -> None:
    for name, step in _all_steps(ci):
        if _uses(step, "actions/checkout"):
            assert step["with"]["persist-credentials"] is False, name


def test_no_expression_is_interpolated_into_a_shell_script(ci: dict[str, Any]) -> None:
    for name, step in _all_steps(ci):
        assert "${{" not in step.get("run", ""), f"{name}: pass values through env instead"
