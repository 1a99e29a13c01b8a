"""Vectorised random-forest evaluation with scikit-learn's exact semantics.

Inputs are cast to float32 and compared ``<=`` against float64 thresholds, as
scikit-learn's tree code does; leaf class fractions are averaged over trees.

The trees are laid out as complete binary trees of the forest's depth, numbered like a
heap: the roots are slots ``n_trees .. 2 * n_trees - 1`` and slot ``s`` has its children at
``2s`` and ``2s + 1``. A step is then a shift and an add instead of a child lookup, and each
level of every tree sits in one contiguous run of the arrays. A leaf above the last level
becomes a split that always goes left (threshold +inf), down to its copy on the last level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from retail_api.forest.artifact import FRACTION_TOLERANCE, LEAF

IntArray = npt.NDArray[np.int32]
IndexArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
# The compiler's arrays, keyed as in the artifact (artifact.ARRAY_DTYPES).
TreeArrays = Mapping[str, npt.NDArray[Any]]

# The complete-tree layout doubles with every level: each slot holds 12 bytes of split and
# 8 per class of leaf value, so 2^20 slots are 38 MB for three classes (100 trees of depth
# 13). The bundled model (100 trees of depth 10) needs 102,400 slots, 3.7 MB.
MAX_LAYOUT_SLOTS: Final = 1 << 20


class ForestError(ValueError):
    """The tree arrays are inconsistent (bad index, cycle, wrong shape) or too deep."""


@dataclass(frozen=True, eq=False)
class Forest:
    """All trees as complete binary trees in heap order (see the module docstring).

    ``feature[s]`` and ``threshold[s]`` describe inner slot ``s``; ``leaf_value[s - bottom]``
    holds the class fractions of slot ``s`` of the last level. Indices are ``intp`` so
    ``take`` never converts them.
    """

    feature: IndexArray
    # float64 thresholds rounded down to float32: for a float32 x, x <= t exactly when
    # x <= that (no float32 lies between them), so the walk compares in float32.
    threshold: Float32Array
    leaf_value: FloatArray
    depth: int
    n_features: int
    n_trees: int

    @property
    def n_classes(self) -> int:
        return int(self.leaf_value.shape[1])

    @property
    def _bottom(self) -> int:
        """The first slot of the last level."""
        return self.n_trees << self.depth

    def _roots(self) -> IndexArray:
        return np.arange(self.n_trees, 2 * self.n_trees, dtype=np.intp)

    def predict_proba(self, rows: npt.NDArray[np.float64]) -> FloatArray:
        """Class probabilities for a finite (n_rows, n_features) matrix, sklearn-identical.

        Rows must be finite (the API rejects NaN/Infinity): ``x > t`` is used as
        "not ``x <= t``", which only holds for numbers.

        Leaf fractions are summed tree by tree in order and divided once, the same
        operation order as RandomForestClassifier.predict_proba.
        """
        if rows.shape[0] == 1:
            return self._predict_one(rows[0].astype(np.float32))
        # Row-major float32 rows: (row, feature) is at row * n_features + feature.
        n_rows = rows.shape[0]
        x = np.ascontiguousarray(rows, dtype=np.float32).ravel()
        row_start = np.arange(n_rows, dtype=np.intp) * self.n_features
        # Tree-major: a tree's entries sit together, so each step's gathers from the
        # layout stay within that tree's run of it.
        slots = np.repeat(self._roots(), n_rows).reshape(self.n_trees, n_rows)
        # Every step writes into the same few buffers: a fresh 800 KB array per operation
        # costs more in allocation than the operation itself. mode="clip" lets take write
        # straight into `out` (mode="raise" buffers it); every slot is in range by
        # construction.
        at = np.empty_like(slots)
        values = np.empty(slots.shape, dtype=np.float32)
        thresholds = np.empty(slots.shape, dtype=np.float32)
        # intp, not bool: adding a bool array to slots would convert it on every step.
        go_right = np.empty_like(slots)
        for _ in range(self.depth):
            self.feature.take(slots, out=at, mode="clip")
            at += row_start
            x.take(at, out=values, mode="clip")
            self.threshold.take(slots, out=thresholds, mode="clip")
            np.greater(values, thresholds, out=go_right)
            slots <<= 1
            slots |= go_right
        slots -= self._bottom
        # Summed over trees in tree order, then divided once, as scikit-learn does.
        total: FloatArray = self.leaf_value.take(slots, axis=0).sum(axis=0)
        return total / self.n_trees

    def _predict_one(self, x: Float32Array) -> FloatArray:
        # The latency-critical /predict path: no row offsets, no buffers.
        slots = self._roots()
        for _ in range(self.depth):
            slots = (slots << 1) + (x.take(self.feature.take(slots)) > self.threshold.take(slots))
        leaves = self.leaf_value.take(slots - self._bottom, axis=0)
        total: FloatArray = leaves.sum(axis=0, keepdims=True)
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


def _check_layout_size(n_trees: int, depth: int) -> None:
    slots = n_trees << depth
    if slots > MAX_LAYOUT_SLOTS:
        deepest = max(MAX_LAYOUT_SLOTS // n_trees, 1).bit_length() - 1
        raise ForestError(
            f"max_depth: depth {depth} with n_trees={n_trees} needs {slots:,} slots as "
            f"complete trees, more than {MAX_LAYOUT_SLOTS:,}; train with max_depth <= {deepest}"
        )


def _threshold32(threshold: FloatArray) -> Float32Array:
    """Each threshold rounded down to float32 (see Forest.threshold)."""
    rounded = threshold.astype(np.float32)
    above = rounded.astype(np.float64) > threshold
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def build_forest(arrays: TreeArrays, n_features: int) -> Forest:
    """Validate compiler arrays (named as in the artifact) and lay the trees out as
    complete binary trees, level by level."""
    _check_arrays(arrays, n_features)
    roots, left, right, feature, threshold = _unpack(arrays)
    n_trees = int(roots.size)
    depth = _tree_depth(roots, left, right)
    _check_layout_size(n_trees, depth)
    threshold32 = _threshold32(threshold)
    bottom = n_trees << depth
    # Unreachable slots (right of a leaf above the last level) keep feature 0, threshold 0.
    slot_feature: IndexArray = np.zeros(bottom, dtype=np.intp)
    slot_threshold: Float32Array = np.zeros(bottom, dtype=np.float32)
    nodes = roots.astype(np.intp)
    slots = np.arange(n_trees, 2 * n_trees, dtype=np.intp)
    for _ in range(depth):
        is_leaf = left[nodes] == LEAF
        slot_feature[slots] = np.where(is_leaf, 0, feature[nodes])
        # x <= +inf for every number: a leaf goes left until it reaches the last level.
        slot_threshold[slots] = np.where(is_leaf, np.float32(np.inf), threshold32[nodes])
        inner = ~is_leaf
        nodes = np.concatenate([np.where(is_leaf, nodes, left[nodes]), right[nodes[inner]]])
        slots = np.concatenate([2 * slots, 2 * slots[inner] + 1])
    # Last-level slots no path reaches (right of a raised leaf) point at node 0, never read.
    leaf_node: IndexArray = np.zeros(bottom, dtype=np.intp)
    leaf_node[slots - bottom] = nodes
    value: FloatArray = arrays["value"]
    return Forest(
        feature=slot_feature,
        threshold=slot_threshold,
        leaf_value=value.take(leaf_node, axis=0),
        depth=depth,
        n_features=n_features,
        n_trees=n_trees,
    )
