"""Vectorised random-forest evaluation with scikit-learn's exact semantics.

Inputs are cast to float32 and compared ``<=`` against float64 thresholds, as
scikit-learn's tree code does; leaf class fractions are averaged over trees.
Leaves point to themselves, so every row walks exactly ``depth`` steps in lockstep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retail_api.model.artifact import LEAF

IntArray = npt.NDArray[np.int32]
IndexArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


class ForestError(ValueError):
    """The tree arrays are inconsistent (bad index, cycle, wrong shape)."""


@dataclass(frozen=True, eq=False)
class Forest:
    """Flat node arrays for all trees; indices are ``intp`` so ``take`` never converts."""

    roots: IndexArray
    # children[2 * node] is the left child, children[2 * node + 1] the right one.
    children: IndexArray
    feature: IndexArray
    threshold: FloatArray
    value: FloatArray
    depth: int
    n_features: int

    @property
    def n_classes(self) -> int:
        return int(self.value.shape[1])

    def predict_proba(self, rows: npt.NDArray[np.float64]) -> FloatArray:
        """Class probabilities for a (n_rows, n_features) matrix, sklearn-identical."""
        n_rows = rows.shape[0]
        x = rows.astype(np.float32).ravel()
        row_offset = (np.arange(n_rows) * self.n_features)[:, None]
        node = np.tile(self.roots, (n_rows, 1))
        for _ in range(self.depth):
            # float32 value vs float64 threshold compares exactly, as in sklearn's trees.
            go_right = x.take(self.feature.take(node) + row_offset) > self.threshold.take(node)
            node = self.children.take(node * 2 + go_right)
        # Summing over the tree axis adds trees in order, then one division:
        # the same operation order as RandomForestClassifier.predict_proba.
        total: FloatArray = self.value.take(node, axis=0).sum(axis=1)
        return total / self.roots.size


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


def _check_arrays(
    roots: IntArray,
    left: IntArray,
    right: IntArray,
    feature: IntArray,
    threshold: FloatArray,
    value: FloatArray,
    n_features: int,
) -> None:
    """Raise ForestError naming the first array that cannot describe a valid forest."""
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


def build_forest(
    roots: IntArray,
    left: IntArray,
    right: IntArray,
    feature: IntArray,
    threshold: FloatArray,
    value: FloatArray,
    n_features: int,
) -> Forest:
    """Validate compiler arrays and turn leaves into self-loops for lockstep walking."""
    _check_arrays(roots, left, right, feature, threshold, value, n_features)
    is_leaf = left == LEAF
    node_index = np.arange(feature.size, dtype=np.intp)
    children: IndexArray = np.empty(2 * feature.size, dtype=np.intp)
    children[0::2] = np.where(is_leaf, node_index, left)
    children[1::2] = np.where(is_leaf, node_index, right)
    return Forest(
        roots=roots.astype(np.intp),
        children=children,
        feature=np.where(is_leaf, 0, feature).astype(np.intp),
        threshold=threshold,
        value=value,
        depth=_tree_depth(roots, left, right),
        n_features=n_features,
    )
