"""Deterministic synthetic baskets shaped like dunnhumby's "Let's Get Sort-of-Real".

The real data set is not redistributable, so the model is trained on synthetic rows
with the same fields. Assumptions (also in server/README.md):

* Store region sets an affluence level; London and the South East are the most affluent.
* Larger store formats and full shops carry more items; spend is log-normal around
  an item price that depends on the product group and on affluence.
* The label is price sensitivity: a latent score rises with low spend per item, low
  affluence, small formats and top-up shops, plus Gaussian noise; it is cut into
  High / Medium / Low sensitivity at fixed quantiles of the score scale.

Everything comes from one ``numpy.random.Generator`` seeded by the caller, so the same
seed and row count always give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retail_api.forest.contract import CATEGORICAL_FEATURES, NUMERIC_FEATURES

REGION_AFFLUENCE = {
    "LONDON": 1.0,
    "SOUTH_EAST": 0.7,
    "SOUTH_WEST": 0.3,
    "EAST": 0.2,
    "MIDLANDS": -0.2,
    "NORTH_WEST": -0.4,
    "NORTH_EAST": -0.7,
    "SCOTLAND": -0.1,
    "WALES": -0.5,
}
FORMAT_ITEMS = {"SS": 4.0, "MS": 8.0, "LS": 14.0, "XLS": 22.0}
BASKET_TYPE_ITEMS = {"TOP_UP": 0.5, "SMALL_SHOP": 0.8, "MIXED": 1.0, "FULL_SHOP": 1.8}
BASKET_TYPE_SENSITIVITY = {"TOP_UP": 0.3, "SMALL_SHOP": 0.1, "MIXED": 0.0, "FULL_SHOP": -0.3}
PRODUCT_GROUPS = {
    "FOOD": ("FRESH", "CHILLED", "FROZEN", "AMBIENT", "BAKERY"),
    "DRINKS": ("ALCOHOL", "SOFT_DRINKS"),
    "HOUSEHOLD": ("CLEANING", "PAPER"),
    "HEALTH": ("TOILETRIES", "MEDICINES"),
    "NONFOOD": ("HOME", "CLOTHING"),
}
GROUP_ITEM_PRICE = {"FOOD": 2.2, "DRINKS": 4.5, "HOUSEHOLD": 3.0, "HEALTH": 3.8, "NONFOOD": 9.0}
GROUP_WEIGHTS = (0.5, 0.15, 0.12, 0.1, 0.13)
# Score cut points chosen so the three classes are roughly balanced.
SENSITIVITY_CUTS = (-0.55, 0.3)


@dataclass(frozen=True)
class Baskets:
    """Generated rows: object columns for the categories, floats for the numbers."""

    features: npt.NDArray[np.object_]
    labels: npt.NDArray[np.str_]


def _choice(rng: np.random.Generator, values: list[str], n: int) -> npt.NDArray[np.object_]:
    return np.asarray(rng.choice(np.asarray(values, dtype=object), size=n), dtype=object)


def _basket_size(quantity: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    size = np.where(quantity <= 5, "S", np.where(quantity <= 15, "M", "L"))
    return size.astype(object)


def generate_baskets(n_rows: int, seed: int) -> Baskets:
    """Return ``n_rows`` synthetic baskets; identical for identical arguments."""
    if n_rows < 1:
        raise ValueError(f"n_rows: must be at least 1, got {n_rows}")
    rng = np.random.default_rng(seed)
    region = _choice(rng, list(REGION_AFFLUENCE), n_rows)
    store_format = _choice(rng, list(FORMAT_ITEMS), n_rows)
    basket_type = _choice(rng, list(BASKET_TYPE_ITEMS), n_rows)
    group_idx = rng.choice(len(PRODUCT_GROUPS), size=n_rows, p=GROUP_WEIGHTS)
    groups = list(PRODUCT_GROUPS)
    prod20 = np.asarray([groups[i] for i in group_idx], dtype=object)
    prod30 = np.asarray(
        [PRODUCT_GROUPS[g][rng.integers(len(PRODUCT_GROUPS[g]))] for g in prod20], dtype=object
    )

    affluence = np.asarray([REGION_AFFLUENCE[r] for r in region]) + rng.normal(0, 0.4, n_rows)
    mean_items = np.asarray(
        [
            FORMAT_ITEMS[f] * BASKET_TYPE_ITEMS[b]
            for f, b in zip(store_format, basket_type, strict=True)
        ]
    )
    quantity = 1 + rng.poisson(mean_items)
    item_price = np.asarray([GROUP_ITEM_PRICE[g] for g in prod20]) * np.exp(
        0.35 * affluence + rng.normal(0, 0.3, n_rows)
    )
    spend = np.round(quantity * item_price, 2)

    score = (
        -0.9 * np.log(spend / quantity / np.asarray([GROUP_ITEM_PRICE[g] for g in prod20]))
        - 0.5 * affluence
        + np.asarray([BASKET_TYPE_SENSITIVITY[b] for b in basket_type])
        - 0.02 * quantity
        + rng.normal(0, 0.35, n_rows)
    )
    labels = np.where(
        score > SENSITIVITY_CUTS[1], "High", np.where(score < SENSITIVITY_CUTS[0], "Low", "Medium")
    )

    columns = {
        "BASKET_SIZE": _basket_size(quantity),
        "BASKET_TYPE": basket_type,
        "STORE_REGION": region,
        "STORE_FORMAT": store_format,
        "PROD_CODE_20": prod20,
        "PROD_CODE_30": prod30,
        "SPEND": spend.astype(object),
        "QUANTITY": quantity.astype(object),
    }
    ordered = [columns[name] for name in (*CATEGORICAL_FEATURES, *NUMERIC_FEATURES)]
    return Baskets(features=np.column_stack(ordered), labels=labels.astype(np.str_))
