"""The gate itself: judge a merged scan against a policy, and wait for a scan to be judgeable.

One implementation for the program and the CLI. Time is injected (`today`, `clock`, `sleep`)
so that expiry and timeouts are tested without waiting.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.scan_gate.config import ACCEPTED_KEY, IGNORE_UNFIXED_KEY
from infra.scan_gate.findings import (
    ELIGIBILITY_EXPIRED,
    JUDGEABLE,
    SCAN_NOT_FOUND,
    WAITING,
    completed_at,
    merge_pages,
    next_token,
    page_status,
)
from infra.scan_gate.model import (
    Finding,
    FindingsError,
    ScanGateError,
    ScanPolicy,
    ScanResult,
    ScanSummary,
    Severity,
)

# Fetch one response page: (nextToken or None) -> the DescribeImageScanFindings response.
FetchPage = Callable[[str | None], Mapping[str, Any]]
DEFAULT_POLL_SECONDS = 10.0


def judge(result: ScanResult, policy: ScanPolicy, today: dt.date) -> ScanSummary:
    """The verdict on a judgeable scan. Never raises; `passed` says whether the gate passes.

    A finding fails the gate when it counts (open), reaches `policy.fail_severity` and no
    active ignore entry names its id. Findings that `counts` report but no listed finding names
    cannot be matched to an ignore entry, so at or above the threshold they fail (fail closed).
    """
    # Ids match whatever their case: `cve-2024-1` in a stack file means CVE-2024-1.
    active = {e.id.upper() for e in policy.ignore if e.active_on(today)}
    expired = tuple(sorted({e.id for e in policy.ignore if not e.active_on(today)}))
    threshold = policy.fail_severity
    if policy.ignore_unfixed and result.shape == "basic":
        raise FindingsError(
            f"{IGNORE_UNFIXED_KEY}: basic scanning reports no fixAvailable, so unfixable "
            "findings cannot be told apart; turn on enhanced scanning or set it to false"
        )
    open_findings = [
        f for f in result.findings if f.counts and (f.fixable or not policy.ignore_unfixed)
    ]
    ignored = tuple(sorted({f.id for f in open_findings if f.id.upper() in active}))
    if threshold is None:
        failing: tuple[Finding, ...] = ()
        unlisted = 0
    else:
        failing = tuple(
            f for f in open_findings if f.severity.reaches(threshold) and f.id.upper() not in active
        )
        # Every listed finding, unfixable ones too: they are named, so not "unlisted".
        listed: Counter[Severity] = Counter(f.severity for f in result.findings)
        unlisted = sum(
            max(0, n - listed[s]) for s, n in result.counts.items() if s.reaches(threshold)
        )
    return ScanSummary(
        digest=result.digest,
        status=result.status,
        fail_severity=threshold,
        passed=not failing and not unlisted,
        counts=dict(result.counts),
        failing=failing,
        unlisted_failing=unlisted,
        ignored_ids=ignored,
        expired_ignore_ids=expired,
        completed_at=result.completed_at,
    )


@dataclass(frozen=True)
class Clock:
    """Where the waiting loop gets time from; tests pass fakes."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = DEFAULT_POLL_SECONDS


@dataclass(frozen=True)
class Wait:
    """What counts as the answer the gate waits for, beyond a finished response.

    `newer_than`: only a scan completed after this time (a rescan just started) will do.
    `confirm`: asked when ECR answers COMPLETE/ACTIVE without a completion time; True when
    another source (Inspector's coverage) shows the scan really ran.
    `not_found_waits`: ScanNotFoundException means "not started yet" (a fresh push) rather than
    "no scan will come"."""

    newer_than: dt.datetime | None = None
    confirm: Callable[[], bool] | None = None
    not_found_waits: bool = True


def wait_for_scan(
    fetch: FetchPage, timeout_seconds: float, clock: Clock | None = None, wait: Wait | None = None
) -> ScanResult:
    """Poll until the scan is finished, then fetch every page and merge them.

    Keeps polling while the status is IN_PROGRESS or PENDING, or COMPLETE/ACTIVE without
    `imageScanCompletedAt` (unless `wait.confirm` says the scan ran); raises ScanGateError
    (naming the digest and the status) on any other status at once, and when
    `timeout_seconds` pass first.
    """
    clock = clock or Clock()
    wait = wait or Wait()
    deadline = clock.monotonic() + timeout_seconds
    while True:
        first = fetch(None)
        digest, status, description = page_status(first)
        if _answered(first, wait):
            return merge_pages(collect_pages(fetch, first))
        detail = f" ({description})" if description else ""
        pending = status in WAITING or (status == SCAN_NOT_FOUND and wait.not_found_waits)
        if not pending and status not in JUDGEABLE:
            raise ScanGateError(unscannable_message(digest, status, detail), status=status)
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            state = status if status not in JUDGEABLE else f"{status} but not finished"
            raise ScanGateError(
                f"scan gate: image {digest}: still {state}{detail} after "
                f"{timeout_seconds:g} s (scanTimeoutSeconds)",
                status=status,
            )
        clock.sleep(min(clock.poll_seconds, remaining))


def _answered(page: Mapping[str, Any], wait: Wait) -> bool:
    _, status, _ = page_status(page)
    if status not in JUDGEABLE:
        return False
    finished_at = completed_at(page)
    if finished_at is None:
        return wait.confirm is not None and wait.newer_than is None and wait.confirm()
    return wait.newer_than is None or finished_at > wait.newer_than


def unscannable_message(digest: str, status: str, detail: str = "") -> str:
    """Why no scan will come for `digest`, and the ways out."""
    accept = (
        f"or accept this digest until a date: {ACCEPTED_KEY}: [{{digest: {digest}, "
        "expires: YYYY-MM-DD, reason: ...}]"
    )
    if status == ELIGIBILITY_EXPIRED:
        return (
            f"scan gate: image {digest}: {status}{detail}: Amazon Inspector stopped rescanning "
            "it (past its ECR re-scan duration); raise the re-scan duration in Inspector's "
            f"settings, push the image again (a new digest is scanned), {accept}"
        )
    if status == SCAN_NOT_FOUND:
        return (
            f"scan gate: image {digest}: ECR holds no scan of it (ScanNotFoundException: "
            "scans are dropped when the registry switches between basic and enhanced "
            f"scanning, and none runs with scan on push off); push the image again, {accept}"
        )
    return f"scan gate: image {digest}: scan status {status}{detail}"


def collect_pages(fetch: FetchPage, first: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every page after `first`, following `nextToken`; a repeated token is an error."""
    pages = [first]
    seen: set[str] = set()
    token = next_token(first)
    while token is not None:
        if token in seen:
            raise ScanGateError(f"scan gate: nextToken {token!r} repeated; pagination loops")
        seen.add(token)
        pages.append(fetch(token))
        token = next_token(pages[-1])
    return pages


def failure_message(summary: ScanSummary) -> str:
    """The one-line reason a summary fails the gate (also used by the program's error)."""
    threshold = summary.fail_severity.value if summary.fail_severity else "NONE"
    parts = []
    if summary.failing_ids:
        parts.append(f"{len(summary.failing_ids)} failing: {', '.join(summary.failing_ids)}")
    if summary.unlisted_failing:
        parts.append(f"{summary.unlisted_failing} counted but not listed (no ids to ignore)")
    return (
        f"scan gate: image {summary.digest} ({summary.status}) has findings at or above "
        f"{threshold}: {'; '.join(parts)}"
    )
