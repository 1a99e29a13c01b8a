"""How figures are shown: binary sizes, money to the cent, short digests, per-rule counts."""

from __future__ import annotations

import pytest

from infra.lifecycle.outcome import FATES
from infra.lifecycle.tally import (
    by_rule,
    describe_counts,
    format_price,
    format_size,
    format_usd,
    short_digest,
)

from .support import DAY, image, preview_of, rule


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0.0 MB"),
        (5000, "< 0.1 MB"),
        (2**20 // 10, "0.1 MB"),
        (70 * 2**20, "70.0 MB"),
        (2**30 - 1, "1024.0 MB"),
        (2**30, "1.00 GB"),
        (int(1.625 * 2**30), "1.62 GB"),
    ],
)
def test_sizes_are_binary_mb_and_gb(size: int, shown: str) -> None:
    assert format_size(size) == shown


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0.0, "$0.00"),
        (0.125, "$0.13"),  # half up, where round() would give the even 0.12
        (0.3474121, "$0.35"),
        (1234.5, "$1,234.50"),
        (400 / 2**30 * 1000, "$0.00"),
    ],
)
def test_money_is_rounded_to_cents_half_up(amount: float, shown: str) -> None:
    assert format_usd(amount) == shown


def test_unit_prices_keep_digits_finer_than_a_cent() -> None:
    assert format_price(0.1) == "$0.10/GB-month"
    assert format_price(0.0114) == "$0.0114/GB-month"


def test_short_digest_keeps_twelve_hex_characters() -> None:
    assert short_digest("sha256:" + "ab" * 32) == "sha256:abababababab"
    assert short_digest("odd") == "odd"


def test_describe_counts_lists_the_fates_that_occur() -> None:
    policy = {"rules": [rule(1, patterns=["v*"], number=1)]}
    images = [
        image("sha256:new", ("v2",), DAY, size=2**30),
        image("sha256:old", ("v1",), 2 * DAY, size=3 * 2**20),
        image("sha256:other", ("x",), DAY),
    ]
    preview = preview_of(policy, images)
    tallies = by_rule(preview, preview.fates())
    assert [(t.label, describe_counts(t.by_fate)) for t in tallies] == [
        ("rule 1", "expire 1 (3.0 MB), kept 1 (1.00 GB)"),
        ("no rule", "kept 1 (0.0 MB)"),
    ]
    assert set(tallies[0].by_fate) == set(FATES)
