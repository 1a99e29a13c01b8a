"""Vectorised random-forest evaluation with scikit-learn's exact semantics.

Inputs are cast to float32 and compared ``<=`` against float64 thresholds, as
scikit-learn's tree code does; leaf class fractions are averaged over trees.
Leaves point to themselves, so every row walks exactly ``depth`` steps in lockstep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from retail_api.forest.artifact import FRACTION_TOLERANCE, LEAF

IntArray = npt.NDArray[np.int32]
IndexArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]
# The compiler's arrays, keyed as in the artifact (artifact.ARRAY_DTYPES).
TreeArrays = Mapping[str, npt.NDArray[Any]]


class ForestError(ValueError):
    """The tree arrays are inconsistent (bad index, cycle, wrong shape)."""


@dataclass(frozen=True, eq=False)
class Forest:
    """All trees as flat arrays indexed by *slot* = 2 * node.

    ``feature`` and ``threshold`` hold node i at slot 2i, and ``children[2i + go_right]``
    is the child's slot, so one step is four ``take`` calls, a compare and an add.
    Indices are ``intp`` so ``take`` never converts them.
    """

    root_slots: IndexArray
    children: IndexArray
    feature: IndexArray
    threshold: FloatArray
    value: FloatArray
    depth: int
    n_features: int
    # threshold rounded down to float32: for a float32 x, x <= t exactly when x <= that
    # (no float32 lies between them), so batches compare in float32, half the bytes.
    threshold32: npt.NDArray[np.float32]

    @property
    def n_classes(self) -> int:
        return int(self.value.shape[1])

    @property
    def n_trees(self) -> int:
        return int(self.root_slots.size)

    def _leaf_values(self, slots: IndexArray) -> FloatArray:
        return self.value.take(slots >> 1, axis=0)

    def predict_proba(self, rows: npt.NDArray[np.float64]) -> FloatArray:
        """Class probabilities for a finite (n_rows, n_features) matrix, sklearn-identical.

        Rows must be finite (the API rejects NaN/Infinity): ``x > t`` is used as
        "not ``x <= t``", which only holds for numbers.

        float32 inputs against float64 thresholds compare exactly as sklearn's trees do.
        Leaf fractions are summed tree by tree in order and divided once, the same
        operation order as RandomForestClassifier.predict_proba.
        """
        if rows.shape[0] == 1:
            # Round to float32 like sklearn, then widen (exactly) so the comparisons run
            # float64 vs float64 without a mixed-dtype cast on every step.
            return self._predict_one(rows[0].astype(np.float32).astype(np.float64))
        # Tree-major: the entries of one tree sit together, so each step's gathers from
        # the tree arrays stay within that tree's part of them.
        n_rows = rows.shape[0]
        x = np.ascontiguousarray(rows.T, dtype=np.float32).ravel()
        row_index = np.arange(n_rows)
        slots = np.repeat(self.root_slots, n_rows).reshape(self.n_trees, n_rows)
        # Every step writes into the same few buffers: a fresh 800 KB array per operation
        # costs more in allocation than the operation itself. mode="clip" lets take write
        # straight into `out` (mode="raise" buffers it); build_forest checked every index.
        at = np.empty_like(slots)
        values = np.empty(slots.shape, dtype=np.float32)
        thresholds = np.empty(slots.shape, dtype=np.float32)
        go_right = np.empty(slots.shape, dtype=bool)
        for _ in range(self.depth):
            self.feature.take(slots, out=at, mode="clip")
            at *= n_rows
            at += row_index
            x.take(at, out=values, mode="clip")
            self.threshold32.take(slots, out=thresholds, mode="clip")
            np.greater(values, thresholds, out=go_right)
            slots += go_right
            self.children.take(slots, out=at, mode="clip")
            slots, at = at, slots
        # Summed over trees in tree order, then divided once, as scikit-learn does.
        total: FloatArray = self._leaf_values(slots).sum(axis=0)
        return total / self.n_trees

    def _predict_one(self, x: FloatArray) -> FloatArray:
        # The latency-critical /predict path: no row offsets, no tiling.
        slots = self.root_slots
        for _ in range(self.depth):
            slots = self.children.take(
                slots + (x.take(self.feature.take(slots)) > self.threshold.take(slots))
            )
        total: FloatArray = self._leaf_values(slots).sum(axis=0, keepdims=True)
        return total / self.n_trees


def _tree_depth(roots: IntArray, left: IntArray, right: IntArray) -> int:
    """Longest root-to-leaf path (children always follow parents, so this ends)."""
    frontier = roots
    depth = 0
    while True:
        inner = frontier[left[frontier] != LEAF]
        if inner.size == 0:
            return depth
        depth += 1
        frontier = np.unique(np.concatenate([left[inner], right[inner]]))


def _unpack(arrays: TreeArrays) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]:
    return (
        arrays["roots"],
        arrays["children_left"],
        arrays["children_right"],
        arrays["feature"],
        arrays["threshold"],
    )


def _check_arrays(arrays: TreeArrays, n_features: int) -> None:
    """Raise ForestError naming the first array that cannot describe a valid forest."""
    roots, left, right, feature, threshold = _unpack(arrays)
    value: FloatArray = arrays["value"]
    n_nodes = feature.size
    if value.ndim != 2 or value.shape[0] != n_nodes:
        raise ForestError(f"value: expected shape ({n_nodes}, n_classes), got {value.shape}")
    for name, array in (
        ("children_left", left),
        ("children_right", right),
        ("threshold", threshold),
    ):
        if array.shape != (n_nodes,):
            raise ForestError(f"{name}: expected shape ({n_nodes},), got {array.shape}")
    if roots.ndim != 1 or roots.size == 0 or roots.min() < 0 or roots.max() >= n_nodes:
        raise ForestError("roots: must be a non-empty list of node indices")
    is_leaf = left == LEAF
    if np.any((right == LEAF) != is_leaf):
        raise ForestError("children_left/children_right: leaves must have both children -1")
    node_index = np.arange(n_nodes)
    for name, child in (("children_left", left), ("children_right", right)):
        # Children after their parent (scikit-learn's depth-first order) rules out cycles.
        if np.any(~is_leaf & ((child <= node_index) | (child >= n_nodes))):
            raise ForestError(f"{name}: child index out of range or not after its parent")
    if np.any(~is_leaf & ((feature < 0) | (feature >= n_features))):
        raise ForestError(f"feature: index out of range 0..{n_features - 1}")
    if not np.all(np.isfinite(value)) or not np.all(np.isfinite(threshold[~is_leaf])):
        raise ForestError("value/threshold: must be finite numbers")
    _check_leaf_fractions(value[is_leaf])


def _check_leaf_fractions(leaf_values: FloatArray) -> None:
    """Leaf rows must be class fractions: averaging raw counts would skew every prediction.

    scikit-learn < 1.4 stored counts in ``tree_.value``; the compiler normalises them, so a
    row that doesn't sum to 1 means a broken compiler or a hand-edited artifact.
    """
    if np.any(leaf_values < 0):
        raise ForestError("value: leaf rows must be non-negative class fractions")
    sums = leaf_values.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > FRACTION_TOLERANCE)
    if bad.size:
        raise ForestError(
            f"value: {bad.size} leaf rows are not class fractions summing to 1 "
            f"(within {FRACTION_TOLERANCE:g}); e.g. a leaf sums to {float(sums[bad[0]])!r}"
        )


def build_forest(arrays: TreeArrays, n_features: int) -> Forest:
    """Validate compiler arrays (named as in the artifact) and turn leaves into self-loops
    for lockstep walking."""
    _check_arrays(arrays, n_features)
    roots, left, right, feature, threshold = _unpack(arrays)
    value: FloatArray = arrays["value"]
    is_leaf = left == LEAF
    node_index = np.arange(feature.size, dtype=np.intp)
    # Leaves loop back to themselves, so every row walks exactly `depth` steps.
    children: IndexArray = np.empty(2 * feature.size, dtype=np.intp)
    children[0::2] = 2 * np.where(is_leaf, node_index, left)
    children[1::2] = 2 * np.where(is_leaf, node_index, right)
    slot_feature: IndexArray = np.zeros(2 * feature.size, dtype=np.intp)
    slot_feature[0::2] = np.where(is_leaf, 0, feature)
    slot_threshold: FloatArray = np.zeros(2 * feature.size, dtype=np.float64)
    slot_threshold[0::2] = threshold
    threshold32 = slot_threshold.astype(np.float32)
    above = threshold32.astype(np.float64) > slot_threshold
    threshold32[above] = np.nextafter(threshold32[above], np.float32(-np.inf))
    return Forest(
        root_slots=2 * roots.astype(np.intp),
        children=children,
        feature=slot_feature,
        threshold=slot_threshold,
        value=value,
        depth=_tree_depth(roots, left, right),
        n_features=n_features,
        threshold32=threshold32,
    )
