"""Parsers for the three stack config values of the scan gate.

Each takes the raw value (a string from the Pulumi engine, or the parsed YAML of
`Pulumi.<stack>.yaml`) and returns the typed value, or raises ValueError naming the key and the
rule. The ignore FILE of the CLI has the same shape as `scanIgnore` and goes through the same
parser.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import yaml

from infra.scan_gate.model import REPORT_ONLY, IgnoreEntry, Severity

FAIL_SEVERITY_KEY = "scanFailSeverity"
IGNORE_KEY = "scanIgnore"
TIMEOUT_KEY = "scanTimeoutSeconds"

DEFAULT_FAIL_SEVERITY = Severity.CRITICAL.value
DEFAULT_IGNORE: tuple[IgnoreEntry, ...] = ()
DEFAULT_TIMEOUT_SECONDS = 600
# ECR's basic scan usually completes in well under a minute; an hour bounds a stuck update.
MAX_TIMEOUT_SECONDS = 3600

FAIL_SEVERITY_CHOICES = (*(s.value for s in Severity), REPORT_ONLY)
_IGNORE_FIELDS = ("id", "expires", "reason")
# CVE-2024-1234, GHSA-xxxx-xxxx-xxxx, ALAS2-2024-123, …: one token, no spaces.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{1,127}")


def parse_fail_severity(value: object, key: str = FAIL_SEVERITY_KEY) -> Severity | None:
    """`scanFailSeverity`: a severity name (any case) or NONE; None means report only."""
    if not isinstance(value, str) or value.strip().upper() not in FAIL_SEVERITY_CHOICES:
        raise ValueError(f"{key}: {value!r} is not one of {', '.join(FAIL_SEVERITY_CHOICES)}")
    name = value.strip().upper()
    return None if name == REPORT_ONLY else Severity(name)


def parse_timeout_seconds(value: object, key: str = TIMEOUT_KEY) -> int:
    """`scanTimeoutSeconds`: whole seconds, 1 to MAX_TIMEOUT_SECONDS (a string of digits too)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            f"{key}: {value!r} must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS}"
        )
    return number


def parse_ignore(value: object, key: str = IGNORE_KEY) -> tuple[IgnoreEntry, ...]:
    """`scanIgnore`: a list of {id, expires: YYYY-MM-DD, reason}; a JSON/YAML string too.

    Empty (None, "", []) means no entries. Unknown fields, blank reasons and repeated ids are
    refused, so a typo never silently ignores nothing.
    """
    if isinstance(value, str):
        value = _load_text(value, key)
    if value is None or value == "":
        return DEFAULT_IGNORE
    if not isinstance(value, list):
        raise ValueError(f"{key}: must be a list of {{id, expires, reason}} entries")
    entries = tuple(_entry(item, f"{key}[{index}]") for index, item in enumerate(value))
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.id.upper() in seen:
            raise ValueError(f"{key}[{index}].id: {entry.id!r} is listed twice")
        seen.add(entry.id.upper())
    return entries


def load_ignore_file(text: str, source: str) -> tuple[IgnoreEntry, ...]:
    """The CLI's `--ignore FILE`: YAML (JSON is YAML too) that is the list itself, the same shape
    as the `scanIgnore` value. A mapping whose only key is the bare `scanIgnore` is read too; a
    stack file's namespaced `retail-registry:scanIgnore` is not (copy the list out of it)."""
    value = _load_text(text, source)
    if isinstance(value, Mapping) and set(value) == {IGNORE_KEY}:
        value = value[IGNORE_KEY]
    return parse_ignore(value, key=source)


def _load_text(text: str, key: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{key}: not valid YAML or JSON{where}") from None
    except RecursionError:
        raise ValueError(f"{key}: nested too deeply to be a list of ignore entries") from None


def _entry(item: object, where: str) -> IgnoreEntry:
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: must be a mapping with {', '.join(_IGNORE_FIELDS)}")
    unknown = sorted(str(k) for k in item if k not in _IGNORE_FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}; allowed: id, expires, reason")
    missing = [name for name in _IGNORE_FIELDS if name not in item]
    if missing:
        raise ValueError(f"{where}.{missing[0]}: required")
    ident, reason = item["id"], item["reason"]
    if not isinstance(ident, str) or not _ID.fullmatch(ident.strip()):
        raise ValueError(
            f"{where}.id: {ident!r} must be one vulnerability id such as CVE-2024-1234"
        )
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"{where}.reason: must be a non-empty string saying why it is accepted")
    return IgnoreEntry(ident.strip(), _date(item["expires"], f"{where}.expires"), reason.strip())


def _date(value: object, where: str) -> dt.date:
    # YAML turns an unquoted 2026-12-31 into a date already; JSON and quoted YAML give a string.
    if isinstance(value, dt.datetime):
        raise ValueError(f"{where}: {value!s} must be a date YYYY-MM-DD, without a time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{where}: {value!r} must be a date YYYY-MM-DD")
