"""The gate against ECR, blocking: `check` (what `up` runs) and `look` (what preview runs).

No Pulumi import. An index is judged through its platform images; a stale basic scan is
redone; a scan that cannot come ends at once with the way out; an unfinished answer is never
judged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.aws_session import AwsSession
from infra.aws_types import EcrTarget
from infra.scan_gate import ecr
from infra.scan_gate.findings import (
    ELIGIBILITY_EXPIRED,
    JUDGEABLE,
    SCAN_NOT_FOUND,
    completed_at,
    is_finished,
    merge_pages,
    page_status,
)
from infra.scan_gate.model import REPORT_ONLY, ScanGateError, ScanPolicy, ScanSummary
from infra.scan_gate.verdict import (
    Clock,
    Wait,
    collect_pages,
    failure_message,
    judge,
    unscannable_message,
    wait_for_scan,
)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class GateRun:
    """One image to gate: where it is, how to judge it, and how it got there."""

    session: AwsSession
    target: EcrTarget
    policy: ScanPolicy
    platforms: tuple[str, ...]
    """The platforms whose images an index must carry (and that are judged)."""
    fresh_push: bool
    """Pushed by this run: ECR may not have started its scan yet (ScanNotFound = pending)."""
    today: dt.date
    clock: Clock | None = None
    now: Callable[[], dt.datetime] = field(default=_utc_now)


def check(run: GateRun, digest: str) -> dict[str, Any]:
    """`up`: the `imageScan` output once every image of `digest` passes; ScanGateError else."""
    targets = ecr.gate_targets(run.session, run.target, digest, run.platforms)
    return combine(digest, {platform: check_one(run, child) for platform, child in targets.items()})


def look(run: GateRun, digest: str) -> dict[str, Any]:
    """Preview: one look per image, no waiting and no rescan; ScanGateError says what `up`
    would wait for or fail on."""
    targets = ecr.gate_targets(run.session, run.target, digest, run.platforms)
    return combine(digest, {platform: look_one(run, child) for platform, child in targets.items()})


def check_one(run: GateRun, digest: str) -> ScanSummary:
    """Wait for a finished, fresh enough scan of one image and judge it."""
    fetch = ecr.page_fetcher(run.session, run.target, digest)
    first = fetch(None)
    _, status, description = page_status(first)
    scan_type = ecr.scan_type_of(run.session, run.target, digest)
    wait = Wait(not_found_waits=run.fresh_push, confirm=_confirmer(run, digest, scan_type))
    unscannable = status == ELIGIBILITY_EXPIRED or (status == SCAN_NOT_FOUND and not run.fresh_push)
    if unscannable and not (status == SCAN_NOT_FOUND and scan_type() == "BASIC"):
        return _accepted(run, digest, status, description)
    if unscannable:
        # Basic scanning can scan any held image again; the verdict is on that scan.
        ecr.start_rescan(run.session, run.target, digest)
        wait = Wait(not_found_waits=True)
    else:
        finished_at = completed_at(first) if is_finished(first) else None
        if finished_at is not None and _stale(run, finished_at) and scan_type() == "BASIC":
            # Basic scanning scans once; a digest reused long after its push (a rollback)
            # would be judged on a database that has since learned of new CVEs.
            ecr.start_rescan(run.session, run.target, digest)
            wait = Wait(newer_than=finished_at)
    result = wait_for_scan(fetch, run.policy.timeout_seconds, run.clock, wait)
    summary = judge(result, run.policy, run.today)
    if not summary.passed:
        raise ScanGateError(failure_message(summary), summary)
    return summary


def look_one(run: GateRun, digest: str) -> ScanSummary:
    """One look at one image's scan; ScanGateError when it is not finished or fails."""
    fetch = ecr.page_fetcher(run.session, run.target, digest)
    first = fetch(None)
    _, status, description = page_status(first)
    if status == ELIGIBILITY_EXPIRED or (status == SCAN_NOT_FOUND and not run.fresh_push):
        return _accepted(run, digest, status, description)
    if not is_finished(first):
        state = status if status not in JUDGEABLE else f"{status} without imageScanCompletedAt"
        raise ScanGateError(
            f"scan gate: image {digest}: scan {state} ({description or 'not finished'}); "
            "`up` waits for it",
            status=status,
        )
    summary = judge(merge_pages(collect_pages(fetch, first)), run.policy, run.today)
    finished_at = completed_at(first)
    if finished_at is not None and _stale(run, finished_at):
        raise ScanGateError(
            f"scan gate: image {digest}: last scanned {finished_at:%Y-%m-%d}, over "
            f"scanMaxAgeDays ({run.policy.max_age_days}); under basic scanning `up` scans it "
            "again and judges the new scan",
            summary,
        )
    if not summary.passed:
        raise ScanGateError(f"{failure_message(summary)}; `up` would fail", summary)
    return summary


def combine(digest: str, summaries: Mapping[str, ScanSummary]) -> dict[str, Any]:
    """The `imageScan` output: an image's own summary, or an index's platforms merged, with
    each platform's summary under `platforms`."""
    if list(summaries) == [ecr.IMAGE_ITSELF]:
        return summaries[ecr.IMAGE_ITSELF].to_output()
    outputs = {platform: summary.to_output() for platform, summary in summaries.items()}
    counts: dict[str, int] = {}
    for output in outputs.values():
        for severity, number in output["counts"].items():
            counts[severity] = counts.get(severity, 0) + number

    def union(key: str) -> list[str]:
        return sorted({item for output in outputs.values() for item in output[key]})

    statuses = sorted({output["status"] for output in outputs.values()})
    first = next(iter(outputs.values()))
    return {
        "digest": digest,
        "status": statuses[0] if len(statuses) == 1 else "/".join(statuses),
        "failSeverity": first["failSeverity"] if outputs else REPORT_ONLY,
        "passed": all(output["passed"] for output in outputs.values()),
        "counts": counts,
        "failingIds": union("failingIds"),
        "unlistedFailing": sum(output["unlistedFailing"] for output in outputs.values()),
        "ignoredIds": union("ignoredIds"),
        "expiredIgnoreIds": union("expiredIgnoreIds"),
        "platforms": outputs,
    }


def _stale(run: GateRun, finished_at: dt.datetime) -> bool:
    return run.now() - finished_at > dt.timedelta(days=run.policy.max_age_days)


def _confirmer(run: GateRun, digest: str, scan_type: Callable[[], str]) -> Callable[[], bool]:
    def confirm() -> bool:
        # Only enhanced scanning has Inspector behind it; a basic answer waits for its time.
        if scan_type() != "ENHANCED":
            return False
        return ecr.inspector_confirms(run.session, run.target, digest)

    return confirm


def _accepted(run: GateRun, digest: str, status: str, description: str) -> ScanSummary:
    until = run.policy.accepted_until(digest, run.today)
    if until is None:
        detail = f" ({description})" if description else ""
        raise ScanGateError(unscannable_message(digest, status, detail), status=status)
    return ScanSummary(
        digest=digest,
        status=status,
        fail_severity=run.policy.fail_severity,
        passed=True,
        counts={},
        failing=(),
        unlisted_failing=0,
        ignored_ids=(),
        expired_ignore_ids=(),
        accepted_until=until,
    )
