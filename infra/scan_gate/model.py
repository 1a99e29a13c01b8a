"""The scan gate's typed values: severities, ignore entries, the policy, findings and the summary.

Pure Python (no Pulumi, no boto3) so the program, the CLI and the tests share one meaning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """A finding's severity, ranked from most to least severe.

    ECR's `FindingSeverity` enum (basic scanning) is INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL,
    UNDEFINED; Amazon Inspector (enhanced scanning) says UNTRIAGED where ECR says UNDEFINED: a
    vulnerability the vendor has not rated yet. Both rank below INFORMATIONAL, so a gate fails on
    them only when the threshold is UNDEFINED (or UNTRIAGED) — "every finding counts".
    """

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"
    UNDEFINED = "UNDEFINED"
    UNTRIAGED = "UNTRIAGED"

    @property
    def rank(self) -> int:
        """Higher is more severe; UNDEFINED and UNTRIAGED share the lowest rank."""
        return _RANKS[self]

    def reaches(self, threshold: Severity) -> bool:
        """True when a finding of this severity is at or above `threshold`."""
        return self.rank >= threshold.rank


_RANKS = {
    Severity.CRITICAL: 5,
    Severity.HIGH: 4,
    Severity.MEDIUM: 3,
    Severity.LOW: 2,
    Severity.INFORMATIONAL: 1,
    Severity.UNDEFINED: 0,
    Severity.UNTRIAGED: 0,
}

# `scanFailSeverity: NONE` judges nothing: the gate only reports.
REPORT_ONLY = "NONE"


@dataclass(frozen=True)
class IgnoreEntry:
    """One accepted vulnerability: its id, the last day it is accepted (UTC), and why."""

    id: str
    expires: dt.date
    reason: str

    def active_on(self, today: dt.date) -> bool:
        """The entry still counts on its expiry day and stops counting the day after."""
        return today <= self.expires


@dataclass(frozen=True)
class AcceptedDigest:
    """One image accepted without a usable scan (eligibility expired, scan gone), until a day."""

    digest: str
    expires: dt.date
    reason: str

    def active_on(self, today: dt.date) -> bool:
        """Accepted through its expiry day (UTC), not after."""
        return today <= self.expires


@dataclass(frozen=True)
class ScanPolicy:
    """How the gate judges a scan: threshold (None = report only), ignore entries, timeout,
    the oldest basic scan it trusts, whether unfixable findings count, accepted digests."""

    fail_severity: Severity | None = Severity.CRITICAL
    ignore: tuple[IgnoreEntry, ...] = ()
    timeout_seconds: int = 600
    max_age_days: int = 7
    ignore_unfixed: bool = False
    accepted: tuple[AcceptedDigest, ...] = ()

    def accepted_until(self, digest: str, today: dt.date) -> dt.date | None:
        """The expiry of an active acceptance of `digest`, or None."""
        for entry in self.accepted:
            if entry.digest == digest and entry.active_on(today):
                return entry.expires
        return None


@dataclass(frozen=True)
class Finding:
    """One vulnerability finding, reduced to what the gate judges and prints."""

    id: str
    severity: Severity
    package: str = ""
    fix_available: str = ""
    status: str = ""
    """Inspector's finding status; basic findings have none."""

    @property
    def counts(self) -> bool:
        """Inspector lists remediated (CLOSED) and suppression-rule (SUPPRESSED) findings too;
        only open ones (ACTIVE, or no status at all) count against the gate."""
        return self.status in ("", "ACTIVE")

    @property
    def fixable(self) -> bool:
        """Inspector's `fixAvailable`: YES and PARTIAL can be fixed by an upgrade, NO cannot."""
        return self.fix_available in ("YES", "PARTIAL")


@dataclass(frozen=True)
class ScanResult:
    """A judgeable scan (status COMPLETE or ACTIVE) with every page merged.

    `counts` are per severity: ECR's `findingSeverityCounts` when present (it covers every
    finding, listed or not), otherwise counted from the listed findings. `findings` may list
    fewer than `counts` says (a counts-only document lists none); it keeps CLOSED and
    SUPPRESSED Inspector findings so that they are not mistaken for unlisted ones.
    """

    digest: str
    status: str
    counts: dict[Severity, int]
    findings: tuple[Finding, ...]
    shape: str
    """"basic" (`findings`), "enhanced" (`enhancedFindings`) or "counts" (neither listed)."""
    completed_at: dt.datetime | None = None
    """`imageScanCompletedAt`: when the scan judged here finished (UTC)."""


@dataclass(frozen=True)
class ScanSummary:
    """The verdict, and the stack output `imageScan` it serialises to (see `to_output`)."""

    digest: str
    status: str
    fail_severity: Severity | None
    passed: bool
    counts: dict[Severity, int]
    failing: tuple[Finding, ...]
    unlisted_failing: int
    """Findings at or above the threshold that the counts report but no listed finding names."""
    ignored_ids: tuple[str, ...]
    expired_ignore_ids: tuple[str, ...]
    completed_at: dt.datetime | None = None
    accepted_until: dt.date | None = None
    """Set when the digest passed through a `scanAcceptedDigests` entry, without a scan."""
    failing_ids: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failing_ids", tuple(sorted({f.id for f in self.failing})))

    def to_output(self) -> dict[str, Any]:
        """The `imageScan` stack output; camelCase keys, every list sorted.

        `digest`, `status` (ECR's `imageScanStatus.status`), `failSeverity` (or "NONE"),
        `passed`, `counts` (severity → number, only severities that occur), `failingIds`,
        `unlistedFailing`, `ignoredIds`, `expiredIgnoreIds`; `scanCompletedAt` (ISO 8601) when
        ECR said when the scan finished, `acceptedUntil` for an accepted unscanned digest.
        """
        extra: dict[str, Any] = {}
        if self.completed_at is not None:
            extra["scanCompletedAt"] = self.completed_at.isoformat()
        if self.accepted_until is not None:
            extra["acceptedUntil"] = self.accepted_until.isoformat()
        return extra | {
            "digest": self.digest,
            "status": self.status,
            "failSeverity": self.fail_severity.value if self.fail_severity else REPORT_ONLY,
            "passed": self.passed,
            "counts": {s.value: n for s, n in sorted_counts(self.counts)},
            "failingIds": list(self.failing_ids),
            "unlistedFailing": self.unlisted_failing,
            "ignoredIds": list(self.ignored_ids),
            "expiredIgnoreIds": list(self.expired_ignore_ids),
        }


def unjudged_output(digest: str, status: str, fail_severity: Severity | None) -> dict[str, Any]:
    """The `imageScan` output, same keys, for a scan that was not judged (preview, report-only)."""
    return {
        "digest": digest,
        "status": status,
        "failSeverity": fail_severity.value if fail_severity else REPORT_ONLY,
        "passed": False,
        "counts": {},
        "failingIds": [],
        "unlistedFailing": 0,
        "ignoredIds": [],
        "expiredIgnoreIds": [],
    }


def sorted_counts(counts: dict[Severity, int]) -> list[tuple[Severity, int]]:
    """Non-zero counts, most severe first."""
    return sorted(((s, n) for s, n in counts.items() if n), key=lambda item: -item[0].rank)


class ScanGateError(Exception):
    """The gate cannot pass: a failing verdict, a non-judgeable status, or a timeout.

    The message names the digest and the status (and, for a verdict, the failing ids).
    """

    def __init__(
        self, message: str, summary: ScanSummary | None = None, status: str = "UNKNOWN"
    ) -> None:
        super().__init__(message)
        self.summary = summary
        self.status = summary.status if summary else status
        """The scan status the gate stopped at (UNKNOWN when ECR could not be asked)."""


class FindingsError(ValueError):
    """The findings document does not have the shape AWS documents; names the field."""
