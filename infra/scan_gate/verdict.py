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

from infra.scan_gate.findings import JUDGEABLE, WAITING, merge_pages, next_token, page_status
from infra.scan_gate.model import (
    Finding,
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
    open_findings = [f for f in result.findings if f.counts]
    ignored = tuple(sorted({f.id for f in open_findings if f.id.upper() in active}))
    if threshold is None:
        failing: tuple[Finding, ...] = ()
        unlisted = 0
    else:
        failing = tuple(
            f for f in open_findings if f.severity.reaches(threshold) and f.id.upper() not in active
        )
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
    )


@dataclass(frozen=True)
class Clock:
    """Where the waiting loop gets time from; tests pass fakes."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = DEFAULT_POLL_SECONDS


def wait_for_scan(
    fetch: FetchPage, timeout_seconds: float, clock: Clock | None = None
) -> ScanResult:
    """Poll until the scan is judgeable, then fetch every page and merge them.

    Keeps polling while the status is IN_PROGRESS or PENDING; raises ScanGateError (naming
    the digest and the status) on any other status, and when `timeout_seconds` pass first.
    """
    clock = clock or Clock()
    deadline = clock.monotonic() + timeout_seconds
    while True:
        first = fetch(None)
        digest, status, description = page_status(first)
        if status in JUDGEABLE:
            return merge_pages(collect_pages(fetch, first))
        detail = f" ({description})" if description else ""
        if status not in WAITING:
            raise ScanGateError(
                f"scan gate: image {digest}: scan status {status}{detail}", status=status
            )
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise ScanGateError(
                f"scan gate: image {digest}: still {status}{detail} after "
                f"{timeout_seconds:g} s (scanTimeoutSeconds)",
                status=status,
            )
        clock.sleep(min(clock.poll_seconds, remaining))


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
