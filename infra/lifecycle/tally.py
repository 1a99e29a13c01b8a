"""Counts and sizes per fate and per rule, and how the table and the page show figures.

Sizes are binary, as AWS bills storage: a GB is 2**30 bytes and a MB 2**20 (AWS's price lists
call them GB). Money is rounded to cents for display only; the JSON keeps the exact figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from infra.lifecycle.outcome import FATES, KEPT, Fate, Preview

BYTES_PER_MB = 2**20
BYTES_PER_GB = 2**30
SHORT_DIGEST_HEX = 12
IN_USE = "IN USE"
CENT = Decimal("0.01")


@dataclass
class Count:
    images: int = 0
    size_bytes: int = 0

    def add(self, size_bytes: int) -> None:
        self.images += 1
        self.size_bytes += size_bytes


@dataclass
class RuleTally:
    """What one rule decides (`priority` None: the images no rule matches)."""

    priority: int | None
    description: str | None
    by_fate: dict[str, Count] = field(default_factory=lambda: {fate: Count() for fate in FATES})

    @property
    def label(self) -> str:
        return "no rule" if self.priority is None else f"rule {self.priority}"


def by_fate(fates: Iterable[Fate]) -> dict[str, Count]:
    counts = {fate: Count() for fate in FATES}
    for fate in fates:
        counts[fate.kind].add(fate.image.size_bytes)
    return counts


def by_rule(preview: Preview, fates: Iterable[Fate]) -> list[RuleTally]:
    """One tally per rule by priority, then one for images no rule matches (if any)."""
    tallies = {rule.priority: RuleTally(rule.priority, rule.description) for rule in preview.rules}
    unmatched = RuleTally(None, None)
    for fate in fates:
        tally = tallies.get(fate.rule_priority) if fate.rule_priority is not None else None
        (tally or unmatched).by_fate[fate.kind].add(fate.image.size_bytes)
    listed = [tallies[priority] for priority in sorted(tallies)]
    return [*listed, unmatched] if unmatched.by_fate[KEPT].images else listed


def in_use_count(fates: Iterable[Fate], in_use: Mapping[str, object]) -> int:
    return sum(1 for fate in fates if fate.image.digest in in_use)


def format_size(size_bytes: int) -> str:
    if size_bytes >= BYTES_PER_GB:
        return f"{size_bytes / BYTES_PER_GB:.2f} GB"
    if 0 < size_bytes < BYTES_PER_MB // 10:
        # An index or a signature: a few kB, which "0.0 MB" would hide.
        return "< 0.1 MB"
    return f"{size_bytes / BYTES_PER_MB:.1f} MB"


def format_usd(amount: float) -> str:
    """Rounded to cents, half up as a bill rounds (not to the even cent, as `round` does)."""
    cents = Decimal(repr(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    return f"${cents:,}"


def format_price(per_gb_month: float) -> str:
    """A unit price: cents, or every digit it has when it is finer than a cent."""
    text = (
        f"${per_gb_month:.2f}" if round(per_gb_month, 2) == per_gb_month else f"${per_gb_month:g}"
    )
    return f"{text}/GB-month"


def short_digest(digest: str) -> str:
    """`sha256:` and the first 12 hex characters: unique enough to find the image again."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:SHORT_DIGEST_HEX]}" if hex_part else digest[:19]


def describe_counts(counts: Mapping[str, Count]) -> str:
    """`expire 5 (320.0 MB), kept 10`: the non-empty fates, in FATES order."""
    parts = [
        f"{fate.lower()} {count.images} ({format_size(count.size_bytes)})"
        for fate, count in counts.items()
        if count.images
    ]
    return ", ".join(parts) or "no images"
