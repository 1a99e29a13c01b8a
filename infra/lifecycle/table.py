"""`simulate --format table`: every image with its fate and the rule that decides it, then what
each rule does, the totals and the storage estimate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.lifecycle.outcome import (
    DEFAULT_ARCHIVE_PRICE_PER_GB,
    DEFAULT_PRICE_PER_GB,
    UNDETERMINED,
    Fate,
    Preview,
)
from infra.lifecycle.tally import (
    by_fate,
    by_rule,
    describe_counts,
    format_price,
    format_size,
    format_usd,
    in_use_count,
    short_digest,
)

HEADER = ("FATE", "RULE", "PUSHED", "SIZE", "DIGEST", "TAGS", "IN USE")


def format_table(
    preview: Preview,
    price_per_gb: float = DEFAULT_PRICE_PER_GB,
    archive_price_per_gb: float = DEFAULT_ARCHIVE_PRICE_PER_GB,
    in_use: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The table; `in_use` maps a digest to where it runs (`namespace/pod`)."""
    running = in_use or {}
    fates = preview.fates()
    rows: list[tuple[str, ...]] = [HEADER]
    notes: list[str] = []
    for fate in fates:
        kind = fate.kind
        if kind == UNDETERMINED:
            notes.append(f"[{len(notes) + 1}] {fate.reason}")
            kind = f"{kind}[{len(notes)}]"
        rows.append(_row(fate, kind, running.get(fate.image.digest, ())))
    widths = [max(len(row[col]) for row in rows) for col in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines += notes
    lines += ["", "Per rule:"]
    lines += [
        f"  {tally.label}"
        + (f" ({tally.description})" if tally.description else "")
        + f": {describe_counts(tally.by_fate)}"
        for tally in by_rule(preview, fates)
    ]
    lines += ["", *_summary(preview, fates, running, price_per_gb, archive_price_per_gb)]
    return "\n".join(lines) + "\n"


def _row(fate: Fate, kind: str, where: Sequence[str]) -> tuple[str, ...]:
    image = fate.image
    rule = "no rule" if fate.rule_priority is None else f"rule {fate.rule_priority}"
    used = "" if not where else where[0] + (f" +{len(where) - 1}" if len(where) > 1 else "")
    return (
        kind,
        rule,
        image.pushed_at.strftime("%Y-%m-%d %H:%M"),
        format_size(image.size_bytes),
        short_digest(image.digest),
        ",".join(image.tags) or "<untagged>",
        used,
    )


def _summary(
    preview: Preview,
    fates: Sequence[Fate],
    running: Mapping[str, Sequence[str]],
    price_per_gb: float,
    archive_price_per_gb: float,
) -> list[str]:
    counts = by_fate(fates)
    by_class = preview.retained_bytes_by_class()
    retained = by_class["standard"] + by_class["archive"]
    estimate = preview.monthly_storage_usd(price_per_gb, archive_price_per_gb)
    return [
        f"Images: {len(fates)}: "
        + ", ".join(f"{fate.lower()} {count.images}" for fate, count in counts.items())
        + f"; in use {in_use_count(fates, running)}",
        f"Expiring: {format_size(counts['EXPIRE'].size_bytes)}",
        f"Retained: {len(preview.retained)} images, {format_size(retained)} (standard "
        f"{format_size(by_class['standard'])}, archive {format_size(by_class['archive'])})",
        f"Estimated storage: {format_usd(estimate)} per month (standard "
        f"{format_price(price_per_gb)}, archive {format_price(archive_price_per_gb)})",
    ]
