"""judge and wait_for_scan: thresholds, ignore entries, statuses, pagination and the timeout.

Statuses from ECR's ScanStatus enum: judged on COMPLETE and ACTIVE once `imageScanCompletedAt`
is there, polled on IN_PROGRESS and PENDING (and on COMPLETE/ACTIVE without a completion time),
failed closed at once on FAILED, UNSUPPORTED_IMAGE, SCAN_ELIGIBILITY_EXPIRED,
FINDINGS_UNAVAILABLE, LIMIT_EXCEEDED, IMAGE_ARCHIVED, IMAGE_SIZE_EXCEEDED (and anything new).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.scan_gate import (
    Clock,
    IgnoreEntry,
    ScanGateError,
    ScanPolicy,
    Severity,
    judge,
    merge_pages,
    wait_for_scan,
)

from .conftest import DIGEST, TODAY, FakeClock, ScriptedEcr, basic, enhanced, response

MIXED = response(
    findings=[
        basic("CVE-2024-0001", "CRITICAL"),
        basic("CVE-2024-0002", "HIGH"),
        basic("CVE-2024-0003", "MEDIUM"),
        basic("CVE-2024-0004", "UNDEFINED"),
    ],
    counts={"CRITICAL": 1, "HIGH": 1, "MEDIUM": 1, "UNDEFINED": 1},
)


@pytest.mark.parametrize(
    ("threshold", "failing"),
    [
        (Severity.CRITICAL, ["CVE-2024-0001"]),
        (Severity.HIGH, ["CVE-2024-0001", "CVE-2024-0002"]),
        (Severity.MEDIUM, ["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"]),
        (Severity.UNDEFINED, ["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003", "CVE-2024-0004"]),
        (None, []),
    ],
)
def test_threshold(threshold: Severity | None, failing: list[str]) -> None:
    summary = judge(merge_pages([MIXED]), ScanPolicy(fail_severity=threshold), TODAY)
    assert list(summary.failing_ids) == failing
    assert summary.passed is (not failing)


def test_summary_output_keys() -> None:
    """The `imageScan` stack output, written out in full."""
    entries = (
        IgnoreEntry("CVE-2024-0002", dt.date(2026, 12, 31), "no fix upstream yet"),
        IgnoreEntry("CVE-2020-9999", dt.date(2026, 1, 1), "old"),
    )
    summary = judge(merge_pages([MIXED]), ScanPolicy(Severity.HIGH, entries), TODAY)
    assert summary.to_output() == {
        "digest": DIGEST,
        "status": "COMPLETE",
        "failSeverity": "HIGH",
        "passed": False,
        "counts": {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 1, "UNDEFINED": 1},
        "failingIds": ["CVE-2024-0001"],
        "unlistedFailing": 0,
        "ignoredIds": ["CVE-2024-0002"],
        "expiredIgnoreIds": ["CVE-2020-9999"],
        "scanCompletedAt": "2026-11-30T08:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("expires", "passes"),
    [(dt.date(2026, 12, 1), True), (TODAY, True), (dt.date(2026, 11, 29), False)],
)
def test_ignore_entry_counts_through_its_expiry_day(expires: dt.date, passes: bool) -> None:
    entry = IgnoreEntry("CVE-2024-0001", expires, "base image rebuild pending")
    summary = judge(merge_pages([MIXED]), ScanPolicy(ignore=(entry,)), TODAY)
    assert summary.passed is passes
    assert summary.ignored_ids == (("CVE-2024-0001",) if passes else ())
    assert summary.expired_ignore_ids == (() if passes else ("CVE-2024-0001",))


def test_ignore_ids_match_in_any_case() -> None:
    entry = IgnoreEntry("cve-2024-0001", dt.date(2027, 1, 1), "written in lower case")
    summary = judge(merge_pages([MIXED]), ScanPolicy(ignore=(entry,)), TODAY)
    assert (summary.passed, summary.ignored_ids) == (True, ("CVE-2024-0001",))


def test_counts_only_fails_closed_and_cannot_be_ignored() -> None:
    """No ids listed: CRITICAL counts fail, and no ignore entry can match them."""
    entry = IgnoreEntry("CVE-2024-0001", dt.date(2027, 1, 1), "accepted")
    page = response(counts={"CRITICAL": 2, "HIGH": 5})
    summary = judge(merge_pages([page]), ScanPolicy(ignore=(entry,)), TODAY)
    assert (summary.passed, summary.unlisted_failing, summary.failing_ids) == (False, 2, ())
    assert judge(merge_pages([page]), ScanPolicy(Severity.HIGH), TODAY).unlisted_failing == 7
    below = response(counts={"HIGH": 5})
    assert judge(merge_pages([below]), ScanPolicy(), TODAY).passed


def test_closed_and_suppressed_enhanced_findings_do_not_count() -> None:
    """Inspector `status` CLOSED/SUPPRESSED findings are listed (and counted) but not judged."""
    page = response(
        "ACTIVE",
        enhanced_findings=[
            enhanced("CVE-1", "CRITICAL", status="CLOSED"),
            enhanced("CVE-2", "CRITICAL", status="SUPPRESSED"),
            enhanced("CVE-3", "HIGH"),
        ],
        counts={"CRITICAL": 2, "HIGH": 1},
    )
    summary = judge(merge_pages([page]), ScanPolicy(Severity.CRITICAL), TODAY)
    assert (summary.passed, summary.unlisted_failing) == (True, 0)
    assert judge(merge_pages([page]), ScanPolicy(Severity.HIGH), TODAY).failing_ids == ("CVE-3",)


def test_same_cve_in_two_packages_is_one_id() -> None:
    page = response(
        findings=[basic("CVE-7", "CRITICAL", "a", "1"), basic("CVE-7", "CRITICAL", "b", "2")]
    )
    summary = judge(merge_pages([page]), ScanPolicy(), TODAY)
    assert summary.failing_ids == ("CVE-7",)
    assert len(summary.failing) == 2


def test_polls_until_complete() -> None:
    ecr = ScriptedEcr([response("PENDING"), response("IN_PROGRESS"), response(counts={})])
    clock = FakeClock()
    result = wait_for_scan(ecr.fetch, 60, Clock(clock.monotonic, clock.sleep, 5))
    assert result.status == "COMPLETE"
    assert clock.sleeps == [5, 5]


def test_pagination_follows_next_token() -> None:
    first = response(findings=[basic("CVE-1", "HIGH")], counts={"HIGH": 2}, next_token="p2")
    ecr = ScriptedEcr([first], pages={"p2": response(findings=[basic("CVE-2", "HIGH")])})
    result = wait_for_scan(ecr.fetch, 60, Clock(FakeClock().monotonic, FakeClock().sleep))
    assert [f.id for f in result.findings] == ["CVE-1", "CVE-2"]
    assert ecr.requests == [{}, {"nextToken": "p2"}]


def test_looping_next_token_is_an_error() -> None:
    loop = response(findings=[], next_token="again")
    ecr = ScriptedEcr([loop], pages={"again": loop})
    with pytest.raises(ScanGateError, match="nextToken 'again' repeated"):
        wait_for_scan(ecr.fetch, 60, Clock(FakeClock().monotonic, FakeClock().sleep))


@pytest.mark.parametrize(
    "status",
    [
        "FAILED",
        "UNSUPPORTED_IMAGE",
        "SCAN_ELIGIBILITY_EXPIRED",
        "FINDINGS_UNAVAILABLE",
        "LIMIT_EXCEEDED",
        "IMAGE_ARCHIVED",
        "IMAGE_SIZE_EXCEEDED",
        "SOMETHING_NEW",
    ],
)
def test_every_other_status_fails_closed(status: str) -> None:
    ecr = ScriptedEcr([response("IN_PROGRESS"), response(status, description="why")])
    clock = FakeClock()
    with pytest.raises(ScanGateError) as caught:
        wait_for_scan(ecr.fetch, 60, Clock(clock.monotonic, clock.sleep, 1))
    assert str(caught.value).startswith(f"scan gate: image {DIGEST}: ")
    assert f"{status} (why)" in str(caught.value)
    # At once: no waiting for a scan that cannot come.
    assert clock.sleeps == [1]


def test_eligibility_expired_names_the_cause_and_every_way_out() -> None:
    ecr = ScriptedEcr([response("SCAN_ELIGIBILITY_EXPIRED", description="expired")])
    with pytest.raises(ScanGateError) as caught:
        wait_for_scan(ecr.fetch, 600, Clock(FakeClock().monotonic, FakeClock().sleep))
    assert str(caught.value) == (
        f"scan gate: image {DIGEST}: SCAN_ELIGIBILITY_EXPIRED (expired): Amazon Inspector "
        "stopped rescanning it (past its ECR re-scan duration); raise the re-scan duration in "
        "Inspector's settings, push the image again (a new digest is scanned), or accept this "
        f"digest until a date: scanAcceptedDigests: [{{digest: {DIGEST}, expires: YYYY-MM-DD, "
        "reason: ...}]"
    )
    assert len(ecr.requests) == 1


# What enhanced scanning has answered right after a push (aws/aws-sdk#289): a judgeable status
# with an empty list and no completion time or counts; and a basic answer missing the time.
EARLY_COMPLETE = response("COMPLETE", enhanced_findings=[], completed_at=None)
EARLY_ACTIVE = response("ACTIVE", enhanced_findings=[], completed_at=None)
EARLY_BASIC = response("COMPLETE", findings=[], completed_at=None)
FINISHED_CRITICAL = response(
    "ACTIVE", enhanced_findings=[enhanced("CVE-2026-0001", "CRITICAL")], counts={"CRITICAL": 1}
)


@pytest.mark.parametrize("early", [EARLY_COMPLETE, EARLY_ACTIVE, EARLY_BASIC])
def test_an_answer_without_completion_time_is_polled_past(early: dict[str, object]) -> None:
    ecr = ScriptedEcr([early, early, FINISHED_CRITICAL])
    clock = FakeClock()
    result = wait_for_scan(ecr.fetch, 600, Clock(clock.monotonic, clock.sleep, 5))
    assert clock.sleeps == [5, 5]
    summary = judge(result, ScanPolicy(), TODAY)
    assert (summary.passed, summary.failing_ids) == (False, ("CVE-2026-0001",))


@pytest.mark.parametrize("early", [EARLY_COMPLETE, EARLY_ACTIVE, EARLY_BASIC])
def test_an_answer_that_never_finishes_times_out_as_not_finished(early: dict[str, object]) -> None:
    ecr = ScriptedEcr([early])
    clock = FakeClock()
    with pytest.raises(ScanGateError) as caught:
        wait_for_scan(ecr.fetch, 20, Clock(clock.monotonic, clock.sleep, 10))
    status = early["imageScanStatus"]["status"]  # type: ignore[index]
    assert str(caught.value) == (
        f"scan gate: image {DIGEST}: still {status} but not finished after 20 s "
        "(scanTimeoutSeconds)"
    )


def test_the_deadline_counts_from_the_clock_at_the_start() -> None:
    """A monotonic clock does not start at 0: the deadline is start + timeout."""
    ecr = ScriptedEcr([response("IN_PROGRESS")])
    clock = FakeClock(now=5000.0)
    with pytest.raises(ScanGateError, match="after 30 s"):
        wait_for_scan(ecr.fetch, 30, Clock(clock.monotonic, clock.sleep, 10))
    assert clock.sleeps == [10, 10, 10]
    assert clock.now == 5030.0


def test_lower_case_finding_ids_match_upper_case_ignore_entries() -> None:
    page = response(
        enhanced_findings=[enhanced("ghsa-abcd-efgh-ijkl", "CRITICAL")], counts={"CRITICAL": 1}
    )
    entry = IgnoreEntry("GHSA-ABCD-EFGH-IJKL", dt.date(2026, 12, 31), "not reachable")
    summary = judge(merge_pages([page]), ScanPolicy(ignore=(entry,)), TODAY)
    assert (summary.passed, summary.ignored_ids) == (True, ("ghsa-abcd-efgh-ijkl",))


def test_ignore_unfixed_counts_yes_and_partial_not_no() -> None:
    page = response(
        enhanced_findings=[
            enhanced("CVE-1", "CRITICAL", fix="NO"),
            enhanced("CVE-2", "CRITICAL", fix="PARTIAL"),
            enhanced("CVE-3", "CRITICAL", fix="YES"),
        ],
        counts={"CRITICAL": 3},
    )
    lenient = judge(merge_pages([page]), ScanPolicy(ignore_unfixed=True), TODAY)
    assert (lenient.failing_ids, lenient.unlisted_failing) == (("CVE-2", "CVE-3"), 0)
    strict = judge(merge_pages([page]), ScanPolicy(), TODAY)
    assert strict.failing_ids == ("CVE-1", "CVE-2", "CVE-3")


def test_ignore_unfixed_is_refused_under_basic_scanning() -> None:
    with pytest.raises(ValueError) as caught:
        judge(merge_pages([MIXED]), ScanPolicy(ignore_unfixed=True), TODAY)
    assert str(caught.value) == (
        "scanIgnoreUnfixed: basic scanning reports no fixAvailable, so unfixable findings "
        "cannot be told apart; turn on enhanced scanning or set it to false"
    )


def test_timeout_names_digest_and_status() -> None:
    ecr = ScriptedEcr([response("IN_PROGRESS")])
    clock = FakeClock()
    with pytest.raises(ScanGateError) as caught:
        wait_for_scan(ecr.fetch, 25, Clock(clock.monotonic, clock.sleep, 10))
    assert str(caught.value) == (
        f"scan gate: image {DIGEST}: still IN_PROGRESS after 25 s (scanTimeoutSeconds)"
    )
    # The last sleep is cut to the deadline: no waiting past the timeout.
    assert clock.sleeps == [10, 10, 5]
    assert len(ecr.requests) == 4


# Written out from the AWS severity order, independently of Severity.rank.
ORDER = ["UNDEFINED", "INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


@given(
    findings=st.lists(
        st.tuples(st.sampled_from([f"CVE-2024-{n}" for n in range(6)]), st.sampled_from(ORDER)),
        max_size=12,
    ),
    threshold=st.sampled_from(ORDER),
    ignored=st.sets(st.sampled_from([f"CVE-2024-{n}" for n in range(6)]), max_size=3),
)
def test_failing_ids_are_exactly_those_at_or_above_and_not_ignored(
    findings: list[tuple[str, str]], threshold: str, ignored: set[str]
) -> None:
    page = response(findings=[basic(ident, severity) for ident, severity in findings])
    entries = tuple(IgnoreEntry(i, dt.date(2030, 1, 1), "accepted") for i in sorted(ignored))
    summary = judge(merge_pages([page]), ScanPolicy(Severity(threshold), entries), TODAY)
    expected = {
        ident
        for ident, severity in findings
        if ORDER.index(severity) >= ORDER.index(threshold) and ident not in ignored
    }
    assert set(summary.failing_ids) == expected
    assert summary.passed is (not expected)
    assert set(summary.ignored_ids) == {ident for ident, _ in findings if ident in ignored}
