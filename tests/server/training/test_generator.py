"""The synthetic basket generator is deterministic and respects the field contract."""

from __future__ import annotations

import numpy as np
import pytest

from training.generator import FORMAT_ITEMS, REGION_AFFLUENCE, generate_baskets


def test_same_seed_same_rows() -> None:
    first, second = generate_baskets(500, seed=11), generate_baskets(500, seed=11)
    np.testing.assert_array_equal(first.features, second.features)
    np.testing.assert_array_equal(first.labels, second.labels)


def test_different_seed_different_rows() -> None:
    assert not np.array_equal(generate_baskets(500, 1).features, generate_baskets(500, 2).features)


def test_fields_match_the_api_contract() -> None:
    baskets = generate_baskets(2_000, seed=4)
    columns = baskets.features.T
    assert set(columns[0]) == {"S", "M", "L"}
    assert set(columns[2]) <= set(REGION_AFFLUENCE)
    assert set(columns[3]) == set(FORMAT_ITEMS)
    spend = columns[6].astype(float)
    quantity = columns[7].astype(int)
    assert (spend > 0).all() and (spend <= 100_000).all()
    assert (quantity > 0).all() and (quantity <= 10_000).all()
    assert set(baskets.labels) == {"Low", "Medium", "High"}
    assert min(np.unique(baskets.labels, return_counts=True)[1]) > 300


def test_rejects_empty_request() -> None:
    with pytest.raises(ValueError, match="n_rows: must be at least 1"):
        generate_baskets(0, seed=1)
