"""Category encoding mirrors OrdinalEncoder, including the unknown bucket."""

from __future__ import annotations

import numpy as np

from retail_api.forest.encoding import CategoricalColumn, Encoder, NumericColumn


def test_known_unknown_and_numeric_columns() -> None:
    encoder = Encoder(
        (
            CategoricalColumn("STORE_REGION", {"EAST": 0.0, "LONDON": 1.0}, unknown_value=-1.0),
            NumericColumn("SPEND"),
        )
    )
    matrix = encoder.encode(
        [
            {"STORE_REGION": "LONDON", "SPEND": 3},
            {"STORE_REGION": "MARS", "SPEND": 1.25},
            {"STORE_REGION": "london", "SPEND": 2.0},
        ]
    )
    assert matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix, [[1.0, 3.0], [-1.0, 1.25], [-1.0, 2.0]])


def test_empty_batch_has_right_width() -> None:
    assert Encoder((NumericColumn("SPEND"),)).encode([]).shape == (0, 1)
