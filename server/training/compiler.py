"""Compile a fitted scikit-learn pipeline into the pickle-free serving artifact.

Supported shape: ``Pipeline([ColumnTransformer(...), RandomForestClassifier])`` where
the column transformer holds ``OrdinalEncoder`` steps (with an encoded unknown value)
and ``"passthrough"`` steps. Anything else raises ``ValueError`` naming the part.

Usage (from ``server/``)::

    python -m training.compiler --pipeline model.tar.gz --out artifact/
"""

from __future__ import annotations

import argparse
import json
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from retail_api.forest.artifact import (
    ARRAY_DTYPES,
    ARRAYS_FILE,
    FORMAT_VERSION,
    FRACTION_TOLERANCE,
    LEAF,
    METADATA_FILE,
    arrays_digest,
)
from retail_api.forest.contract import INPUT_FEATURES
from retail_api.forest.evaluator import build_forest

Arrays = dict[str, npt.NDArray[np.generic]]


def _column_names(columns: Any, input_features: Sequence[str]) -> list[str]:
    """Map a transformer's column selection (indices or names) to input names."""
    names = []
    for column in list(columns):
        if isinstance(column, str):
            names.append(column)
        else:
            names.append(input_features[int(column)])
    return names


def _encoder_spec(name: str, encoder: OrdinalEncoder, columns: list[str]) -> list[dict[str, Any]]:
    for setting in ("min_frequency", "max_categories"):
        # Infrequent-category grouping maps several categories to one code; the artifact's
        # vocabulary (one code per category) cannot express that.
        if getattr(encoder, setting, None) is not None:
            raise ValueError(
                f"pipeline.{name}: OrdinalEncoder {setting}={getattr(encoder, setting)!r} groups "
                "infrequent categories, which the compiled artifact does not support; "
                f"refit with {setting}=None"
            )
    if encoder.handle_unknown != "use_encoded_value" or not isinstance(
        encoder.unknown_value, int | float
    ):
        raise ValueError(
            f"pipeline.{name}: OrdinalEncoder needs handle_unknown='use_encoded_value' with a "
            "numeric unknown_value, so unseen categories get the unknown bucket"
        )
    return [
        {
            "name": column,
            "kind": "categorical",
            "categories": [str(value) for value in categories],
            "unknown_value": float(encoder.unknown_value),
        }
        for column, categories in zip(columns, encoder.categories_, strict=True)
    ]


def _is_identity(step: Any) -> bool:
    # Fitted ColumnTransformers hold "passthrough" as an identity FunctionTransformer.
    return bool(step == "passthrough") or (
        isinstance(step, FunctionTransformer) and step.func is None and step.inverse_func is None
    )


def feature_specs(
    transformer: ColumnTransformer, input_features: Sequence[str]
) -> list[dict[str, Any]]:
    """Describe each model column in the order the forest sees them."""
    specs: list[dict[str, Any]] = []
    for name, step, columns in transformer.transformers_:
        names = _column_names(columns, input_features)
        if step == "drop" or not names:
            continue
        if _is_identity(step):
            specs.extend({"name": column, "kind": "numeric"} for column in names)
        elif isinstance(step, OrdinalEncoder):
            specs.extend(_encoder_spec(name, step, names))
        else:
            raise ValueError(
                f"pipeline.{name}: unsupported transformer {type(step).__name__}; "
                "expected OrdinalEncoder or 'passthrough'"
            )
    return specs


def leaf_fractions(value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each node's class weights as fractions, as every scikit-learn version predicts them.

    scikit-learn < 1.4 (e.g. the 1.3.2 of the upstream SageMaker job) stores weighted
    class *counts* in ``tree_.value`` and its ``predict_proba`` divides each row by the
    row's sum; >= 1.4 stores the fractions and uses them as they are. Rows that already
    sum to 1 are kept bit for bit (dividing again could move the last bit, and 1.4+ does
    not divide); any other row is divided by its sum exactly as 1.3's ``predict_proba`` did.
    """
    totals = value.sum(axis=1, keepdims=True)
    if np.any(totals <= 0) or not np.all(np.isfinite(totals)):
        raise ValueError(
            "pipeline.classifier: a tree node has no positive class weight; "
            "cannot turn tree_.value into class fractions"
        )
    already = np.abs(totals - 1.0) <= FRACTION_TOLERANCE
    return np.where(already, value, value / totals)


def forest_arrays(forest: RandomForestClassifier) -> Arrays:
    """Concatenate every tree into flat node arrays with global child indices."""
    if forest.n_outputs_ != 1:
        raise ValueError("pipeline.classifier: only single-output forests are supported")
    lefts, rights, features, thresholds, values, roots = [], [], [], [], [], []
    offset = 0
    for estimator in forest.estimators_:
        tree = estimator.tree_
        is_leaf = tree.children_left == LEAF
        lefts.append(np.where(is_leaf, LEAF, tree.children_left + offset))
        rights.append(np.where(is_leaf, LEAF, tree.children_right + offset))
        features.append(np.where(is_leaf, LEAF, tree.feature))
        thresholds.append(np.where(is_leaf, 0.0, tree.threshold))
        # Only leaves are ever read; zeroing inner nodes lets the .npz compress well.
        values.append(np.where(is_leaf[:, None], leaf_fractions(tree.value[:, 0, :]), 0.0))
        roots.append(offset)
        offset += tree.node_count
    arrays: Arrays = {
        "roots": np.asarray(roots),
        "children_left": np.concatenate(lefts),
        "children_right": np.concatenate(rights),
        "feature": np.concatenate(features),
        "threshold": np.concatenate(thresholds),
        "value": np.concatenate(values),
    }
    return {name: np.ascontiguousarray(a, dtype=ARRAY_DTYPES[name]) for name, a in arrays.items()}


def split_pipeline(pipeline: Pipeline) -> tuple[ColumnTransformer, RandomForestClassifier]:
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise ValueError("pipeline: expected Pipeline([ColumnTransformer, RandomForestClassifier])")
    transformer, forest = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(transformer, ColumnTransformer):
        raise ValueError(f"pipeline.steps[0]: expected ColumnTransformer, got {type(transformer)}")
    if not isinstance(forest, RandomForestClassifier):
        raise ValueError(f"pipeline.steps[1]: expected RandomForestClassifier, got {type(forest)}")
    return transformer, forest


def compile_pipeline(
    pipeline: Pipeline,
    extra_metadata: dict[str, Any],
    input_features: Sequence[str] = INPUT_FEATURES,
) -> tuple[dict[str, Any], Arrays]:
    """Return (metadata, arrays) for a fitted pipeline; writes nothing."""
    transformer, forest = split_pipeline(pipeline)
    arrays = forest_arrays(forest)
    digest = arrays_digest(arrays)
    n_leaves = int(np.count_nonzero(arrays["children_left"] == LEAF))
    params = forest.get_params()
    metadata: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "model_version": f"rf-{digest[:12]}",
        "arrays_sha256": digest,
        "algorithm": "RandomForestClassifier",
        "hyperparameters": {
            key: params[key]
            for key in (
                "n_estimators",
                "max_depth",
                "min_samples_split",
                "min_samples_leaf",
                "random_state",
            )
        },
        "size": {
            "n_trees": len(forest.estimators_),
            "n_nodes": int(arrays["feature"].size),
            "n_leaves": n_leaves,
            "max_depth": max(int(e.tree_.max_depth) for e in forest.estimators_),
            "arrays_bytes": sum(int(a.nbytes) for a in arrays.values()),
        },
        "features": feature_specs(transformer, input_features),
        "classes": [str(c) for c in forest.classes_],
        **extra_metadata,
    }
    # What the server would refuse at load (a forest too deep to lay out) is refused here.
    build_forest(arrays, len(metadata["features"]))
    return metadata, arrays


def write_artifact(metadata: dict[str, Any], arrays: Arrays, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / ARRAYS_FILE, allow_pickle=False, **arrays)
    text = json.dumps(metadata, indent=2, sort_keys=True) + "\n"
    (out_dir / METADATA_FILE).write_text(text, encoding="utf-8")


def load_pipeline(path: Path) -> Pipeline:
    """Load a ``model.joblib`` directly or from inside a SageMaker ``model.tar.gz``.

    joblib unpickles, so only pass files this project produced.
    """
    if path.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path, "r:gz") as archive, tempfile.TemporaryDirectory() as tmp:
            members = [m for m in archive.getmembers() if Path(m.name).name == "model.joblib"]
            if not members:
                raise ValueError(f"{path}: no model.joblib inside the archive")
            archive.extract(members[0], tmp, filter="data")
            return _checked(joblib.load(Path(tmp) / members[0].name), path)
    return _checked(joblib.load(path), path)


def _checked(obj: object, path: Path) -> Pipeline:
    if not isinstance(obj, Pipeline):
        raise ValueError(f"{path}: expected a scikit-learn Pipeline, got {type(obj).__name__}")
    split_pipeline(obj)
    return obj


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pipeline", type=Path, required=True, help="model.joblib or SageMaker model.tar.gz"
    )
    parser.add_argument("--out", type=Path, required=True, help="artifact directory to write")
    args = parser.parse_args(argv)
    pipeline = load_pipeline(args.pipeline)
    metadata, arrays = compile_pipeline(pipeline, {"training": {"source": str(args.pipeline)}})
    write_artifact(metadata, arrays, args.out)
    print(f"wrote {metadata['model_version']} to {args.out}")


if __name__ == "__main__":
    main()
