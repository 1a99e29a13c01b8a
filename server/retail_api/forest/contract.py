"""The request/response contract the artifact must fit (names clients already use)."""

from __future__ import annotations

from typing import Final

CATEGORICAL_FEATURES: Final = (
    "BASKET_SIZE",
    "BASKET_TYPE",
    "STORE_REGION",
    "STORE_FORMAT",
    "PROD_CODE_20",
    "PROD_CODE_30",
)
NUMERIC_FEATURES: Final = ("SPEND", "QUANTITY")
INPUT_FEATURES: Final = CATEGORICAL_FEATURES + NUMERIC_FEATURES
CLASSES: Final = ("High", "Low", "Medium")
