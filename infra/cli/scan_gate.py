"""`python -m infra.scan_gate`: the deploy's scan gate over a saved findings document.

Reads what `aws ecr describe-image-scan-findings` prints (one response, or a JSON list of
response pages), prints one summary line and one line per failing finding, and exits 0 (pass),
1 (the gate fails, including a scan that is not COMPLETE/ACTIVE or has no
`imageScanCompletedAt` yet: not finished) or 2 (bad input, one line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from infra.scan_gate.config import (
    DEFAULT_FAIL_SEVERITY,
    FAIL_SEVERITY_CHOICES,
    load_ignore_file,
    parse_fail_severity,
)
from infra.scan_gate.findings import JUDGEABLE, is_finished, merge_pages, page_status
from infra.scan_gate.model import FindingsError, ScanPolicy, ScanSummary, sorted_counts
from infra.scan_gate.verdict import judge

EXIT_PASS, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: CI logs show the reason first.
        self.exit(EXIT_BAD_INPUT, f"scan_gate: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m infra.scan_gate",
        description="Judge an ECR image scan (basic or enhanced) against a severity threshold.",
    )
    parser.add_argument(
        "--findings",
        required=True,
        metavar="FILE",
        help="JSON printed by `aws ecr describe-image-scan-findings` (or a list of its pages); "
        "- reads stdin",
    )
    parser.add_argument(
        "--fail-on",
        default=DEFAULT_FAIL_SEVERITY,
        metavar="SEVERITY",
        help=f"fail at or above this severity: {', '.join(FAIL_SEVERITY_CHOICES)} "
        f"(NONE only reports; default {DEFAULT_FAIL_SEVERITY})",
    )
    parser.add_argument(
        "--ignore",
        metavar="FILE",
        help="YAML or JSON list of {id, expires: YYYY-MM-DD, reason}, as stack key scanIgnore",
    )
    parser.add_argument(
        "--ignore-unfixed",
        action="store_true",
        help="enhanced scanning: findings with fixAvailable NO do not fail (scanIgnoreUnfixed)",
    )
    return parser


def main(argv: Sequence[str] | None = None, today: dt.date | None = None) -> int:
    """Run the CLI; returns the exit code (0 pass, 1 gate fails, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        policy = ScanPolicy(
            fail_severity=parse_fail_severity(args.fail_on, key="--fail-on"),
            ignore=load_ignore_file(_read(args.ignore), args.ignore) if args.ignore else (),
            ignore_unfixed=args.ignore_unfixed,
        )
        pages = _pages(_read(args.findings), args.findings)
        digest, status, description = page_status(pages[0])
        if status not in JUDGEABLE:
            detail = f" ({description})" if description else ""
            _say(f"FAIL image {digest}: scan status {status}{detail}; nothing to judge")
            return EXIT_FAIL
        if not is_finished(pages[0]):
            # An empty list without imageScanCompletedAt proves nothing (findings.is_finished).
            _say(
                f"FAIL image {digest}: scan {status} but not finished (no "
                "imageScanCompletedAt); ask again later"
            )
            return EXIT_FAIL
        result = merge_pages(pages)
        summary = judge(result, policy, today or dt.datetime.now(dt.UTC).date())
    except (ValueError, OSError) as exc:  # FindingsError is a ValueError
        _error(str(exc))
    _say(summary_line(summary, result.shape))
    for line in failing_lines(summary):
        _say(line)
    return EXIT_PASS if summary.passed else EXIT_FAIL


def summary_line(summary: ScanSummary, shape: str) -> str:
    """`PASS|FAIL|REPORT image <digest> (<status>, <shape>): …` in one line."""
    verdict = "REPORT" if summary.fail_severity is None else "PASS" if summary.passed else "FAIL"
    threshold = summary.fail_severity.value if summary.fail_severity else "NONE"
    counts = ", ".join(f"{s.value} {n}" for s, n in sorted_counts(summary.counts)) or "none"
    parts = [f"findings: {counts}", f"fail on {threshold}: {len(summary.failing_ids)} failing"]
    if summary.unlisted_failing:
        parts.append(f"{summary.unlisted_failing} counted but not listed")
    if summary.ignored_ids:
        parts.append(f"ignored: {', '.join(summary.ignored_ids)}")
    if summary.expired_ignore_ids:
        parts.append(f"expired ignore entries: {', '.join(summary.expired_ignore_ids)}")
    return f"{verdict} image {summary.digest} ({summary.status}, {shape}); {'; '.join(parts)}"


def failing_lines(summary: ScanSummary) -> list[str]:
    """One line per failing finding: severity, id, package, fix availability."""
    lines = []
    for finding in sorted(set(summary.failing), key=lambda f: (-f.severity.rank, f.id, f.package)):
        fix = f" (fix available: {finding.fix_available})" if finding.fix_available else ""
        package = f" {finding.package}" if finding.package else ""
        lines.append(f"{finding.severity.value} {finding.id}{package}{fix}")
    return lines


def _pages(text: str, source: str) -> list[object]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FindingsError(f"{source}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise FindingsError(f"{source}: nested too deeply to be a findings document") from None
    pages = document if isinstance(document, list) else [document]
    if not pages:
        raise FindingsError(f"{source}: an empty list has no response pages")
    return pages


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise OSError(f"{path}: cannot read: {reason}") from None


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _error(message: str) -> NoReturn:
    sys.stderr.write(f"scan_gate: error: {message}\n")
    raise SystemExit(EXIT_BAD_INPUT)
