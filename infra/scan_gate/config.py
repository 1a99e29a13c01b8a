"""Parsers for the stack config values of the scan gate.

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

from infra.oci import is_digest
from infra.scan_gate.model import REPORT_ONLY, AcceptedDigest, IgnoreEntry, Severity

FAIL_SEVERITY_KEY = "scanFailSeverity"
IGNORE_KEY = "scanIgnore"
TIMEOUT_KEY = "scanTimeoutSeconds"
MAX_AGE_KEY = "scanMaxAgeDays"
ACCEPTED_KEY = "scanAcceptedDigests"
IGNORE_UNFIXED_KEY = "scanIgnoreUnfixed"
DEFAULT_MAX_AGE_DAYS = 7
# Over a year a basic scan's verdict says little; 1 day is StartImageScan's own limit.
MAX_AGE_DAYS_LIMIT = 365

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
    number = _whole_number(value)
    if number is None or not 1 <= number <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            f"{key}: {value!r} must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS}"
        )
    return number


def parse_max_age_days(value: object, key: str = MAX_AGE_KEY) -> int:
    """`scanMaxAgeDays`: 1 to MAX_AGE_DAYS_LIMIT whole days. Not 0: ECR starts at most one
    scan per image per 24 hours, so a younger scan could never be had."""
    number = _whole_number(value)
    if number is None or not 1 <= number <= MAX_AGE_DAYS_LIMIT:
        raise ValueError(
            f"{key}: {value!r} must be a whole number of days from 1 (StartImageScan runs at "
            f"most once a day per image) to {MAX_AGE_DAYS_LIMIT}"
        )
    return number


def parse_accepted(value: object, key: str = ACCEPTED_KEY) -> tuple[AcceptedDigest, ...]:
    """`scanAcceptedDigests`: a list of {digest: sha256:<64 hex>, expires: YYYY-MM-DD, reason}
    — images the gate passes without a scan (eligibility expired, scan gone) until a day."""
    if isinstance(value, str):
        value = _load_text(value, key)
    if value is None or value == "":
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{key}: must be a list of {{digest, expires, reason}} entries")
    entries = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        fields = _fields(item, where, ("digest", "expires", "reason"))
        digest = fields["digest"]
        if not is_digest(digest):
            raise ValueError(f"{where}.digest: {digest!r} must be sha256:<64 lowercase hex>")
        reason = fields["reason"]
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{where}.reason: must be a non-empty string saying why")
        entries.append(
            AcceptedDigest(str(digest), _date(fields["expires"], f"{where}.expires"), reason)
        )
    return tuple(entries)


def _whole_number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


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


def _fields(item: object, where: str, names: tuple[str, ...]) -> Mapping[str, object]:
    """`item` as a mapping holding exactly `names`; ValueError naming the first problem."""
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: must be a mapping with {', '.join(names)}")
    unknown = sorted(str(k) for k in item if k not in names)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(names)}")
    missing = [name for name in names if name not in item]
    if missing:
        raise ValueError(f"{where}.{missing[0]}: required")
    return item


def _entry(item: object, where: str) -> IgnoreEntry:
    fields = _fields(item, where, _IGNORE_FIELDS)
    ident, reason = fields["id"], fields["reason"]
    if not isinstance(ident, str) or not _ID.fullmatch(ident.strip()):
        raise ValueError(
            f"{where}.id: {ident!r} must be one vulnerability id such as CVE-2024-1234"
        )
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"{where}.reason: must be a non-empty string saying why it is accepted")
    return IgnoreEntry(ident.strip(), _date(fields["expires"], f"{where}.expires"), reason.strip())


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
