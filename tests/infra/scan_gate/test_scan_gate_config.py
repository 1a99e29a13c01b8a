"""Parsers of scanFailSeverity, scanIgnore and scanTimeoutSeconds: values and one-line errors."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.paths import PROJECT_ROOT
from infra.scan_gate import (
    IgnoreEntry,
    Severity,
    load_ignore_file,
    parse_fail_severity,
    parse_ignore,
    parse_timeout_seconds,
)

DOCS = PROJECT_ROOT / "docs" / "scan-gate.md"
ENTRY = {"id": "CVE-2024-0001", "expires": "2026-12-31", "reason": "no fixed package yet"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("CRITICAL", Severity.CRITICAL),
        ("high", Severity.HIGH),
        (" Medium ", Severity.MEDIUM),
        ("INFORMATIONAL", Severity.INFORMATIONAL),
        ("UNDEFINED", Severity.UNDEFINED),
        ("NONE", None),
    ],
)
def test_fail_severity(value: str, expected: Severity | None) -> None:
    assert parse_fail_severity(value) is expected


@pytest.mark.parametrize("value", ["SEVERE", "", 3, None])
def test_fail_severity_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"^scanFailSeverity: .* is not one of CRITICAL, HIGH"):
        parse_fail_severity(value)


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("600", 600), (3600, 3600)])
def test_timeout(value: object, expected: int) -> None:
    assert parse_timeout_seconds(value) == expected


@pytest.mark.parametrize("value", [0, 3601, -5, "ten", "1.5", 1.5, True, None])
def test_timeout_refused(value: object) -> None:
    with pytest.raises(
        ValueError,
        match=r"^scanTimeoutSeconds: .* must be a whole number of seconds from 1 to 3600",
    ):
        parse_timeout_seconds(value)


def test_ignore_from_yaml_values_and_engine_strings() -> None:
    """YAML gives a date object for an unquoted date; the engine hands over a JSON string."""
    expected = (IgnoreEntry("CVE-2024-0001", dt.date(2026, 12, 31), "no fixed package yet"),)
    assert parse_ignore([ENTRY]) == expected
    assert parse_ignore([{**ENTRY, "expires": dt.date(2026, 12, 31)}]) == expected
    assert (
        parse_ignore(
            '[{"id": "CVE-2024-0001", "expires": "2026-12-31", "reason": "no fixed package yet"}]'
        )
        == expected
    )
    assert parse_ignore(None) == parse_ignore("") == parse_ignore([]) == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"id": "CVE-1"}, r"^scanIgnore: must be a list of \{id, expires, reason\} entries"),
        (["CVE-1"], r"^scanIgnore\[0\]: must be a mapping with id, expires, reason"),
        ([{**ENTRY, "until": "x"}], r"^scanIgnore\[0\]: unknown field 'until'"),
        ([{"id": "CVE-1", "reason": "r"}], r"^scanIgnore\[0\].expires: required"),
        ([{**ENTRY, "id": "two words"}], r"^scanIgnore\[0\].id: 'two words' must be one"),
        ([{**ENTRY, "reason": " "}], r"^scanIgnore\[0\].reason: must be a non-empty string"),
        ([{**ENTRY, "expires": "31/12/2026"}], r"^scanIgnore\[0\].expires: '31/12/2026' must be"),
        ([{**ENTRY, "expires": "2026-02-30"}], r"^scanIgnore\[0\].expires: '2026-02-30' must be"),
        (
            [{**ENTRY, "expires": dt.datetime(2026, 12, 31, 8, 0)}],
            r"^scanIgnore\[0\].expires: .* without a time",
        ),
        ([ENTRY, ENTRY], r"^scanIgnore\[1\].id: 'CVE-2024-0001' is listed twice"),
        (
            [ENTRY, {**ENTRY, "id": "cve-2024-0001"}],
            r"^scanIgnore\[1\].id: 'cve-2024-0001' is listed twice",
        ),
        ("[unclosed", r"^scanIgnore: not valid YAML or JSON"),
    ],
)
def test_ignore_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ignore(value)


def test_ignore_file_is_the_list_or_under_a_bare_scan_ignore_key() -> None:
    listed = "- id: CVE-2024-0001\n  expires: 2026-12-31\n  reason: no fixed package yet\n"
    bare = "scanIgnore:\n" + "".join("  " + line + "\n" for line in listed.splitlines())
    assert load_ignore_file(listed, "ignore.yaml") == load_ignore_file(bare, "x.yaml")
    with pytest.raises(ValueError, match=r"^ignore.yaml\[0\].reason: required"):
        load_ignore_file("- {id: CVE-1, expires: 2026-12-31}", "ignore.yaml")


def test_a_stack_file_fragment_is_no_ignore_file_and_the_docs_say_so() -> None:
    """`--ignore` reads the list itself; a namespaced stack-file fragment is refused."""
    fragment = (
        "config:\n  retail-registry:scanIgnore:\n"
        "    - {id: CVE-2024-0001, expires: 2026-12-31, reason: no fixed package yet}\n"
    )
    for text in (fragment, fragment.split("\n", 1)[1].replace("    -", "  -")):
        with pytest.raises(ValueError) as caught:
            load_ignore_file(text, "ignore.yaml")
        assert str(caught.value) == "ignore.yaml: must be a list of {id, expires, reason} entries"
    said = (" ".join(DOCS.read_text().split()), " ".join((load_ignore_file.__doc__ or "").split()))
    for text in said:
        assert "stack-file fragment" not in text
        assert "is the list itself, the same shape as the `scanIgnore` value" in text
