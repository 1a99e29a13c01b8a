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
FloatArray = npt.NDArray[np.float64]


class ForestError(ValueError):
    """The tree arrays are inconsistent (bad index, cycle, wrong shape)."""


@dataclass(frozen=True, eq=False)
class Forest:
    roots: IntArray
    left: IntArray
    right: IntArray
    feature: IntArray
    threshold: FloatArray
    value: FloatArray
    depth: int
    n_features: int

    @property
    def n_classes(self) -> int:
        return int(self.value.shape[1])

    def predict_proba(self, rows: npt.NDArray[np.float64]) -> FloatArray:
        """Class probabilities for a (n_rows, n_features) matrix, sklearn-identical."""
        x = rows.astype(np.float32)
        node = np.broadcast_to(self.roots, (x.shape[0], self.roots.size))
        row_index = np.arange(x.shape[0])[:, None]
        for _ in range(self.depth):
            go_left = x[row_index, self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        # Summing over the middle axis adds trees in order, then one division:
        # the same operation order as RandomForestClassifier.predict_proba.
        total: FloatArray = self.value[node].sum(axis=1)
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
    n_nodes = feature.size
    if value.ndim != 2 or value.shape[0] != n_nodes:
        raise ForestError(f"value: expected shape ({n_nodes}, n_classes), got {value.shape}")
    for name, array in (("children_left", left), ("children_right", right),
                        ("threshold", threshold)):
        if array.shape != (n_nodes,):
            raise ForestError(f"{name}: expected shape ({n_nodes},), got {array.shape}")
    if roots.ndim != 1 or roots.size == 0 or roots.min() < 0 or roots.max() >= n_nodes:
        raise ForestError("roots: must be a non-empty list of node indices")
    is_leaf = left == LEAF
    node_index = np.arange(n_nodes, dtype=np.int32)
    if np.any((right == LEAF) != is_leaf):
        raise ForestError("children_left/children_right: leaves must have both children -1")
    for name, children in (("children_left", left), ("children_right", right)):
        # Children after their parent (scikit-learn's depth-first order) rules out cycles.
        if np.any(~is_leaf & ((children <= node_index) | (children >= n_nodes))):
            raise ForestError(f"{name}: child index out of range or not after its parent")
    if np.any(~is_leaf & ((feature < 0) | (feature >= n_features))):
        raise ForestError(f"feature: index out of range 0..{n_features - 1}")
    if not np.all(np.isfinite(value)) or not np.all(np.isfinite(threshold[~is_leaf])):
        raise ForestError("value/threshold: must be finite numbers")
    depth = _tree_depth(roots, left, right)
    return Forest(
        roots=roots,
        left=np.where(is_leaf, node_index, left).astype(np.int32),
        right=np.where(is_leaf, node_index, right).astype(np.int32),
        feature=np.where(is_leaf, 0, feature).astype(np.int32),
        threshold=threshold,
        value=value,
        depth=depth,
        n_features=n_features,
    )
