"""The trainer is deterministic and the committed artifact is what it produces."""

from __future__ import annotations

import json

import numpy as np

from retail_api.core.config import DEFAULT_MODEL_DIR
from training.compiler import compile_pipeline
from training.train import FOREST_PARAMS, TrainingResult


def test_committed_artifact_is_reproducible(trained: TrainingResult) -> None:
    metadata, arrays = compile_pipeline(trained.pipeline, {"metrics": trained.metrics})
    committed = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    with np.load(DEFAULT_MODEL_DIR / "forest.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(arrays)
        for name, array in arrays.items():
            np.testing.assert_array_equal(npz[name], array, err_msg=name)
            assert npz[name].dtype == array.dtype
    for key in ("model_version", "arrays_sha256", "features", "classes", "size"):
        assert committed[key] == metadata[key], key
    assert committed["metrics"] == trained.metrics
    assert committed["training"]["data"] == json.loads(json.dumps(trained.data))


def test_trainer_uses_upstream_settings(trained: TrainingResult) -> None:
    forest = trained.pipeline.steps[-1][1]
    params = forest.get_params()
    assert {k: params[k] for k in FOREST_PARAMS} == {
        "n_estimators": 100,
        "max_depth": 10,
        "min_samples_split": 5,
        "min_samples_leaf": 2,
        "random_state": 42,
    }


def test_holdout_metrics_beat_chance(trained: TrainingResult) -> None:
    # Three roughly balanced classes: guessing scores ~0.33; the signal is learnable.
    assert trained.metrics["holdout_accuracy"] > 0.55
    assert trained.metrics["holdout_macro_f1"] > 0.55
    assert trained.data["holdout_rows"] == 4_000
