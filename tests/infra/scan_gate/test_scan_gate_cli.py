"""`python -m infra.scan_gate`: exit 0 pass, 1 gate fails, 2 bad input (one line, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit.cli import write_input

from .conftest import DIGEST, basic, enhanced, response, run_cli

FAILING = response(
    findings=[
        basic("CVE-2024-0001", "CRITICAL", "openssl", "3.0.11"),
        basic("CVE-2024-0002", "HIGH", "zlib", "1.2.13"),
    ],
    counts={"CRITICAL": 1, "HIGH": 1},
)


def test_gate_fails_with_one_line_per_failing_finding(tmp_path: Path) -> None:
    done = run_cli("--findings", write_input(tmp_path, "f.json", FAILING), "--fail-on", "HIGH")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"FAIL image {DIGEST} (COMPLETE, basic); findings: CRITICAL 1, HIGH 1; "
        "fail on HIGH: 2 failing",
        "CRITICAL CVE-2024-0001 openssl 3.0.11",
        "HIGH CVE-2024-0002 zlib 1.2.13",
    ]
    assert done.stderr == ""


def test_default_threshold_critical_and_ignore_file(tmp_path: Path) -> None:
    """The ignore FILE has scanIgnore's shape; one valid and one expired entry."""
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "- id: CVE-2024-0001\n  expires: 2999-12-31\n  reason: openssl fix not in Debian yet\n"
        "- id: CVE-2019-0001\n  expires: 2020-01-01\n  reason: long gone\n",
        encoding="utf-8",
    )
    done = run_cli("--findings", write_input(tmp_path, "f.json", FAILING), "--ignore", str(ignore))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"PASS image {DIGEST} (COMPLETE, basic); findings: CRITICAL 1, HIGH 1; "
        "fail on CRITICAL: 0 failing; ignored: CVE-2024-0001; "
        "expired ignore entries: CVE-2019-0001"
    ]


def test_enhanced_pages_from_stdin_report_only() -> None:
    """A JSON list of response pages is merged; NONE reports and exits 0."""
    pages = [
        response("ACTIVE", enhanced_findings=[enhanced("CVE-1", "CRITICAL")], next_token="n"),
        response("ACTIVE", enhanced_findings=[enhanced("CVE-2", "HIGH", fix="NO")]),
    ]
    done = run_cli("--findings", "-", "--fail-on", "none", stdin=json.dumps(pages))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"REPORT image {DIGEST} (ACTIVE, enhanced); findings: CRITICAL 1, HIGH 1; "
        "fail on NONE: 0 failing"
    ]
    done = run_cli("--findings", "-", "--fail-on", "HIGH", stdin=json.dumps(pages))
    assert done.returncode == 1
    assert done.stdout.splitlines()[1:] == [
        "CRITICAL CVE-1 openssl 3.0.11 (fix available: YES)",
        "HIGH CVE-2 openssl 3.0.11 (fix available: NO)",
    ]


@pytest.mark.parametrize("status", ["IN_PROGRESS", "FAILED", "SCAN_ELIGIBILITY_EXPIRED"])
def test_unjudgeable_status_fails_the_gate(tmp_path: Path, status: str) -> None:
    path = write_input(tmp_path, "f.json", response(status, description="scan said so"))
    done = run_cli("--findings", path)
    assert done.returncode == 1
    assert done.stdout == (
        f"FAIL image {DIGEST}: scan status {status} (scan said so); nothing to judge\n"
    )


def test_counts_only_fails_closed(tmp_path: Path) -> None:
    path = write_input(tmp_path, "f.json", response(counts={"CRITICAL": 3}))
    done = run_cli("--findings", path)
    assert done.returncode == 1
    assert done.stdout == (
        f"FAIL image {DIGEST} (COMPLETE, counts); findings: CRITICAL 3; "
        "fail on CRITICAL: 0 failing; 3 counted but not listed\n"
    )


@pytest.mark.parametrize(
    ("files", "args", "error"),
    [
        ({"findings": "{not json"}, ["--findings", "{findings}"], "{findings}: not JSON"),
        ({}, ["--findings", "{missing}"], "{missing}: cannot read: No such file or directory"),
        (
            {"findings": FAILING},
            ["--findings", "{findings}", "--fail-on", "SEVERE"],
            "--fail-on: 'SEVERE' is not one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, "
            "UNDEFINED, UNTRIAGED, NONE",
        ),
        (
            {"findings": FAILING, "ignore": "- {id: CVE-1, expires: soon, reason: r}"},
            ["--findings", "{findings}", "--ignore", "{ignore}"],
            "{ignore}[0].expires: 'soon' must be a date YYYY-MM-DD",
        ),
        (
            {"findings": response(findings=[], next_token="more")},
            ["--findings", "{findings}"],
            "nextToken: the document is one page of several",
        ),
        (
            {"findings": response(findings=[basic("CVE-1", "BAD")])},
            ["--findings", "{findings}"],
            "imageScanFindings.findings[0].severity: 'BAD' is not one of",
        ),
        (
            {"findings": []},
            ["--findings", "{findings}"],
            "{findings}: an empty list has no response",
        ),
        ({"findings": 5}, ["--findings", "{findings}"], "document: must be a JSON object"),
        (
            {"findings": "[" * 100_000 + "]" * 100_000},
            ["--findings", "{findings}"],
            "{findings}: nested too deeply",
        ),
        (
            {"findings": FAILING, "ignore": "[" * 100_000 + "]" * 100_000},
            ["--findings", "{findings}", "--ignore", "{ignore}"],
            "{ignore}: nested too deeply",
        ),
        ({}, ["--findings", "{tmp}"], "{tmp}: cannot read: Is a directory"),
        ({}, [], "the following arguments are required: --findings"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, files: dict[str, object], args: list[str], error: str
) -> None:
    names = {"missing": str(tmp_path / "missing.json"), "tmp": str(tmp_path)}
    for name, content in files.items():
        names[name] = str(write_input(tmp_path, f"{name}.txt", content))
    done = run_cli(*(a.format(**names) for a in args))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("scan_gate: error: " + error.format(**names))


@pytest.mark.parametrize("status", ["COMPLETE", "ACTIVE"])
def test_an_unfinished_response_is_not_a_pass(tmp_path: Path, status: str) -> None:
    """Enhanced scanning's early answer (aws/aws-sdk#289): empty list, no completion time."""
    path = tmp_path / "early.json"
    path.write_text(json.dumps(response(status, enhanced_findings=[], completed_at=None)))
    done = run_cli("--findings", path)
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout == (
        f"FAIL image {DIGEST}: scan {status} but not finished (no imageScanCompletedAt); "
        "ask again later\n"
    )


def test_ignore_unfixed_on_enhanced_findings(tmp_path: Path) -> None:
    path = tmp_path / "enhanced.json"
    findings = [enhanced("CVE-2026-7", "CRITICAL", fix="NO")]
    path.write_text(json.dumps(response("ACTIVE", enhanced_findings=findings)))
    assert run_cli("--findings", path).returncode == 1
    done = run_cli("--findings", path, "--ignore-unfixed")
    assert done.returncode == 0, done.stdout
    basic_path = tmp_path / "basic.json"
    basic_path.write_text(json.dumps(response(findings=[basic("CVE-1", "LOW")])))
    refused = run_cli("--findings", basic_path, "--ignore-unfixed")
    assert refused.returncode == 2
    assert refused.stderr.startswith("scan_gate: error: scanIgnoreUnfixed: basic scanning")
