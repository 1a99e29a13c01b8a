"""Hand-built forests: sklearn's float32 rule, averaging, and array validation."""

from __future__ import annotations

import numpy as np
import pytest

from retail_api.forest.evaluator import Forest, ForestError, build_forest


def _stump_forest(threshold: float) -> Forest:
    """Two trees; tree 0 splits feature 0 at ``threshold``, tree 1 is a single leaf."""
    i32 = np.int32
    return build_forest(
        {
            "roots": np.array([0, 3], dtype=i32),
            "children_left": np.array([1, -1, -1, -1], dtype=i32),
            "children_right": np.array([2, -1, -1, -1], dtype=i32),
            "feature": np.array([0, -1, -1, -1], dtype=i32),
            "threshold": np.array([threshold, 0, 0, 0], dtype=np.float64),
            "value": np.array([[0, 0], [1, 0], [0, 1], [0.5, 0.5]], dtype=np.float64),
        },
        n_features=1,
    )


def test_inputs_are_compared_as_float32() -> None:
    forest = _stump_forest(0.1)
    # 0.1 in float64 is <= 0.1, but float32(0.1) is slightly larger, so sklearn goes right.
    assert float(np.float32(0.1)) > 0.1
    np.testing.assert_array_equal(forest.predict_proba(np.array([[0.1]])), [[0.25, 0.75]])
    np.testing.assert_array_equal(forest.predict_proba(np.array([[0.0999999]])), [[0.75, 0.25]])


@pytest.mark.parametrize("threshold", [0.1, 1 / 3, 2.5, -7.3, 1e-40, 3.4e38])
def test_batches_compare_exactly_as_single_rows_do(threshold: float) -> None:
    """Batches compare in float32 against the threshold rounded down; single rows in
    float64 against the threshold itself. Both must split every float32 the same way,
    including the ones just around the threshold."""
    forest = _stump_forest(threshold)
    near = np.float32(threshold)
    xs = [
        np.nextafter(near, np.float32(-np.inf)),
        near,
        np.nextafter(near, np.float32(np.inf)),
    ]
    rows = np.array([[float(x)] for x in xs])
    expected = [[0.75, 0.25] if float(x) <= threshold else [0.25, 0.75] for x in xs]
    np.testing.assert_array_equal(forest.predict_proba(rows), expected)
    for row, want in zip(rows, expected, strict=True):
        np.testing.assert_array_equal(forest.predict_proba(row[None, :]), [want])


def test_equal_goes_left_and_rows_are_independent() -> None:
    forest = _stump_forest(2.5)
    proba = forest.predict_proba(np.array([[2.5], [2.6], [-1.0]]))
    np.testing.assert_array_equal(proba, [[0.75, 0.25], [0.25, 0.75], [0.75, 0.25]])
    assert forest.depth == 1


def _arrays() -> dict[str, np.ndarray]:
    return {
        "roots": np.array([0], dtype=np.int32),
        "children_left": np.array([1, -1, -1], dtype=np.int32),
        "children_right": np.array([2, -1, -1], dtype=np.int32),
        "feature": np.array([0, -1, -1], dtype=np.int32),
        "threshold": np.array([1.0, 0, 0]),
        "value": np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float64),
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("children_left", np.array([0, -1, -1], dtype=np.int32), "not after its parent"),
        (
            "children_right",
            np.array([7, -1, -1], dtype=np.int32),
            "children_right: child index out of",
        ),
        (
            "children_right",
            np.array([-1, -1, -1], dtype=np.int32),
            "leaves must have both children",
        ),
        ("feature", np.array([3, -1, -1], dtype=np.int32), "feature: index out of range"),
        ("threshold", np.array([np.nan, 0, 0]), "must be finite"),
        ("value", np.zeros((2, 2)), "value: expected shape"),
        ("value", np.array([[0, 0], [3, 1], [0, 1]], dtype=np.float64), "not class fractions"),
        ("value", np.array([[0, 0], [1.5, -0.5], [0, 1]]), "must be non-negative"),
        ("roots", np.array([5], dtype=np.int32), "roots:"),
    ],
)
def test_inconsistent_arrays_are_rejected(
    name: str,
    value: np.ndarray,
    message: str,
) -> None:
    arrays = _arrays() | {name: value}
    with pytest.raises(ForestError, match=message):
        build_forest(arrays, n_features=1)


def _chain_arrays(depth: int, n_trees: int) -> dict[str, np.ndarray]:
    """``n_trees`` copies of a tree whose right spine is ``depth`` splits long."""
    left: list[int] = []
    right: list[int] = []
    feature: list[int] = []
    roots: list[int] = []
    threshold: list[float] = []
    value: list[list[float]] = []
    for _ in range(n_trees):
        base = len(left)
        roots.append(base)
        for level in range(depth):  # node base + 2 * level splits; base + 2 * level + 1 is a leaf
            inner = base + 2 * level
            left += [inner + 1, -1]
            right += [inner + 2, -1]
            feature += [0, -1]
            threshold += [float(level), 0.0]
            value += [[0.0, 0.0], [1.0, 0.0]]
        left.append(-1)
        right.append(-1)
        feature.append(-1)
        threshold.append(0.0)
        value.append([0.0, 1.0])
    i32 = np.int32
    return {
        "roots": np.array(roots, dtype=i32),
        "children_left": np.array(left, dtype=i32),
        "children_right": np.array(right, dtype=i32),
        "feature": np.array(feature, dtype=i32),
        "threshold": np.array(threshold),
        "value": np.array(value),
    }


def test_leaves_above_the_last_level_are_reached_at_any_depth() -> None:
    """A leaf after k splits is carried down to the last level: every row lands on it."""
    forest = build_forest(_chain_arrays(depth=12, n_trees=3), n_features=1)
    assert forest.depth == 12
    rows = np.array([[-1.0], [0.5], [5.0], [11.0], [11.5], [100.0]])
    # x <= level goes left to that level's leaf (class 0); past every split, class 1.
    expected = [[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 2
    np.testing.assert_array_equal(forest.predict_proba(rows), expected)
    for row, want in zip(rows, expected, strict=True):
        np.testing.assert_array_equal(forest.predict_proba(row[None, :]), [want])


def test_a_forest_too_deep_to_lay_out_is_refused_with_the_depth_to_train_at() -> None:
    assert build_forest(_chain_arrays(depth=20, n_trees=1), n_features=1).depth == 20
    with pytest.raises(ForestError, match=r"max_depth: depth 21 with n_trees=1 .* max_depth <= 20"):
        build_forest(_chain_arrays(depth=21, n_trees=1), n_features=1)
    with pytest.raises(
        ForestError, match=r"max_depth: depth 14 with n_trees=100 .* max_depth <= 13"
    ):
        build_forest(_chain_arrays(depth=14, n_trees=100), n_features=1)
