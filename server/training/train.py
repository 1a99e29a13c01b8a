"""Train the price-sensitivity forest on synthetic baskets and write the artifact.

Usage (from ``server/``)::

    ../.venv/bin/python -m training.train            # rewrites server/artifact/
    ../.venv/bin/python -m training.train --out /tmp/model --rows 5000

The settings match the upstream SageMaker training job. Training is single-threaded
and seeded, so a re-run writes identical arrays (tests/server/training checks it).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from retail_api.forest.contract import CATEGORICAL_FEATURES, INPUT_FEATURES
from training.compiler import compile_pipeline, write_artifact
from training.generator import generate_baskets

DEFAULT_ROWS = 20_000
DEFAULT_SEED = 20_261_128
HOLDOUT_FRACTION = 0.2
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "artifact"
FOREST_PARAMS: dict[str, Any] = {
    "n_estimators": 100,
    "max_depth": 10,
    "min_samples_split": 5,
    "min_samples_leaf": 2,
    "random_state": 42,
}


@dataclass(frozen=True)
class TrainingResult:
    pipeline: Pipeline
    metrics: dict[str, float]
    data: dict[str, Any]


def build_pipeline() -> Pipeline:
    """Ordinal-encode categories (unseen values -> -1) and pass numbers through."""
    n_cat = len(CATEGORICAL_FEATURES)
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    columns = ColumnTransformer(
        [
            ("categorical", encoder, list(range(n_cat))),
            ("numeric", "passthrough", list(range(n_cat, len(INPUT_FEATURES)))),
        ]
    )
    return Pipeline([("encode", columns), ("forest", RandomForestClassifier(**FOREST_PARAMS))])


def train(n_rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> TrainingResult:
    baskets = generate_baskets(n_rows, seed)
    x_train, x_test, y_train, y_test = train_test_split(
        baskets.features,
        baskets.labels,
        test_size=HOLDOUT_FRACTION,
        random_state=seed,
        stratify=baskets.labels,
    )
    pipeline = build_pipeline().fit(x_train, y_train)
    predicted = pipeline.predict(x_test)
    metrics = {
        "holdout_accuracy": round(float(accuracy_score(y_test, predicted)), 6),
        "holdout_macro_f1": round(float(f1_score(y_test, predicted, average="macro")), 6),
    }
    data = {
        "source": "synthetic baskets from training.generator (dunnhumby LGSR-shaped fields)",
        "seed": seed,
        "rows": n_rows,
        "train_rows": len(y_train),
        "holdout_rows": len(y_test),
        "class_counts": {
            str(k): int(v)
            for k, v in zip(*np.unique(baskets.labels, return_counts=True), strict=True)
        },
    }
    return TrainingResult(pipeline=pipeline, metrics=metrics, data=data)


def training_metadata(result: TrainingResult, trained_at: dt.datetime) -> dict[str, Any]:
    return {
        "metrics": result.metrics,
        "training": {
            "trained_at": trained_at.isoformat(timespec="seconds"),
            "scikit_learn_version": sklearn.__version__,
            "data": result.data,
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train and compile the retail model.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    result = train(args.rows, args.seed)
    now = dt.datetime.now(dt.UTC)
    metadata, arrays = compile_pipeline(result.pipeline, training_metadata(result, now))
    write_artifact(metadata, arrays, args.out)
    print(f"wrote {metadata['model_version']} to {args.out}: {result.metrics}")


if __name__ == "__main__":
    main()
