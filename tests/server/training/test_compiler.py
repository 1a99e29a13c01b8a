"""Compiled forest vs scikit-learn: parity on >= 10,000 rows, and the SageMaker path."""

from __future__ import annotations

import copy
import io
import tarfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from retail_api.forest import evaluator
from retail_api.forest.artifact import LEAF, arrays_digest
from retail_api.forest.contract import INPUT_FEATURES
from retail_api.forest.loader import CompiledModel, load_model
from training.compiler import compile_pipeline, leaf_fractions, load_pipeline, write_artifact
from training.compiler import main as compiler_main
from training.generator import generate_baskets
from training.train import TrainingResult

UNSEEN = "NEVER_SEEN"


@pytest.fixture(scope="session")
def compiled(trained: TrainingResult, tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    out = tmp_path_factory.mktemp("compiled")
    write_artifact(*compile_pipeline(trained.pipeline, {}), out)
    return load_model(out)


def _random_rows(n: int) -> npt.NDArray[np.object_]:
    rows = generate_baskets(n, seed=99).features
    rng = np.random.default_rng(5)
    # Replace ~10% of each categorical cell with a category the model never saw.
    for column in range(6):
        rows[rng.random(n) < 0.1, column] = UNSEEN
    return rows


def _boundary_rows(trained: TrainingResult, per_feature: int) -> npt.NDArray[np.object_]:
    """SPEND/QUANTITY set exactly at, and one float32/float64 step around, split thresholds."""
    forest = trained.pipeline.steps[-1][1]
    base = generate_baskets(per_feature * 6, seed=3).features
    rows = []
    for column, name in ((6, "SPEND"), (7, "QUANTITY")):
        thresholds = np.unique(
            np.concatenate(
                [e.tree_.threshold[e.tree_.feature == column] for e in forest.estimators_]
            )
        )
        assert thresholds.size, f"no splits on {name}"
        picks = np.random.default_rng(column).choice(thresholds, size=per_feature)
        for i, t in enumerate(picks):
            t32 = np.float32(t)
            candidates = [
                float(t),
                float(np.nextafter(t, np.inf)),
                float(np.nextafter(t, -np.inf)),
                float(t32),
                float(np.nextafter(t32, np.float32(np.inf))),
                float(np.nextafter(t32, np.float32(-np.inf))),
            ]
            for j, value in enumerate(candidates):
                row = base[(i * 6 + j) % len(base)].copy()
                row[column] = round(value) if name == "QUANTITY" else value
                rows.append(row)
    return np.asarray(rows, dtype=object)


def _records(rows: npt.NDArray[np.object_]) -> list[dict[str, Any]]:
    return [dict(zip(INPUT_FEATURES, row, strict=True)) for row in rows]


def test_parity_with_sklearn(trained: TrainingResult, compiled: CompiledModel) -> None:
    rows = np.concatenate([_random_rows(8_000), _boundary_rows(trained, per_feature=250)])
    assert len(rows) >= 10_000
    assert (rows[:, :6] == UNSEEN).any(axis=1).sum() > 1_000
    expected = trained.pipeline.predict_proba(rows)
    actual = compiled.predict_proba(_records(rows))
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9)
    assert list(compiled.classes) == list(trained.pipeline.classes_)
    np.testing.assert_array_equal(
        np.asarray(compiled.classes)[actual.argmax(axis=1)], trained.pipeline.predict(rows)
    )


def test_float32_boundary_is_honoured(trained: TrainingResult, compiled: CompiledModel) -> None:
    """A SPEND just above a threshold in float64 but equal to it in float32 goes left."""
    rows = _boundary_rows(trained, per_feature=40)
    np.testing.assert_allclose(
        compiled.predict_proba(_records(rows)),
        trained.pipeline.predict_proba(rows),
        rtol=0,
        atol=1e-9,
    )


def test_sagemaker_tarball_round_trip(
    trained: TrainingResult, compiled: CompiledModel, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    joblib.dump(trained.pipeline, buffer)
    tarball = tmp_path / "model.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        info = tarfile.TarInfo("model.joblib")
        info.size = buffer.tell()
        buffer.seek(0)
        archive.addfile(info, buffer)
    _, arrays = compile_pipeline(load_pipeline(tarball), {})
    assert arrays_digest(arrays) == compiled.metadata.arrays_sha256
    compiler_main(["--pipeline", str(tarball), "--out", str(tmp_path / "out")])
    assert load_model(tmp_path / "out").version == compiled.version


def test_tarball_without_model_is_rejected(tmp_path: Path) -> None:
    tarball = tmp_path / "model.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        info = tarfile.TarInfo("readme.txt")
        archive.addfile(info, io.BytesIO(b""))
    with pytest.raises(ValueError, match=r"no model\.joblib inside"):
        load_pipeline(tarball)


def test_unsupported_pipelines_are_rejected() -> None:
    rows = generate_baskets(200, seed=1)
    one_hot = Pipeline(
        [
            ("encode", ColumnTransformer([("cat", OneHotEncoder(), [0])], remainder="drop")),
            ("forest", RandomForestClassifier(n_estimators=2, random_state=0)),
        ]
    ).fit(rows.features, rows.labels)
    with pytest.raises(ValueError, match=r"pipeline\.cat: unsupported transformer OneHotEncoder"):
        compile_pipeline(one_hot, {})
    with pytest.raises(ValueError, match=r"pipeline: expected Pipeline"):
        compile_pipeline(one_hot.steps[-1][1], {})


def test_single_row_path_matches_sklearn(trained: TrainingResult, compiled: CompiledModel) -> None:
    """/predict takes a separate one-row code path; check it row by row."""
    rows = np.concatenate([_random_rows(150), _boundary_rows(trained, per_feature=10)])
    expected = trained.pipeline.predict_proba(rows)
    for record, want in zip(_records(rows), expected, strict=True):
        np.testing.assert_allclose(compiled.predict_proba([record])[0], want, rtol=0, atol=1e-9)


def _as_counts(pipeline: Pipeline) -> Pipeline:
    """A copy whose trees store weighted class counts, as scikit-learn < 1.4 did."""
    old = copy.deepcopy(pipeline)
    for estimator in old.steps[-1][1].estimators_:
        state = estimator.tree_.__getstate__()
        counts = state["nodes"]["weighted_n_node_samples"]
        state["values"] = state["values"] * counts[:, None, None]
        estimator.tree_.__setstate__(state)
    return old


def test_old_sklearn_counts_are_normalised(trained: TrainingResult, tmp_path: Path) -> None:
    """scikit-learn 1.3.2 (the SageMaker job's) stores counts; the compiler divides per row."""
    old = _as_counts(trained.pipeline)
    rows = _random_rows(3_000)
    # Read as fractions, the counts are far off: the simulation really is the old format.
    assert old.predict_proba(rows[:5]).sum(axis=1).min() > 2
    write_artifact(*compile_pipeline(old, {}), tmp_path)
    model = load_model(tmp_path)
    np.testing.assert_allclose(
        model.predict_proba(_records(rows)),
        trained.pipeline.predict_proba(rows),
        rtol=0,
        atol=1e-9,
    )
    with np.load(tmp_path / "forest.npz", allow_pickle=False) as npz:
        leaves = npz["value"][npz["children_left"] == LEAF]
    np.testing.assert_allclose(leaves.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_leaf_fractions_rules(trained: TrainingResult) -> None:
    # Rows already summing to 1 (scikit-learn >= 1.4) keep every bit.
    tree = trained.pipeline.steps[-1][1].estimators_[0].tree_
    fractions = tree.value[:, 0, :]
    assert np.array_equal(leaf_fractions(fractions), fractions)
    # Counts become count / row sum; any positive per-row factor gives the same fractions.
    counts = np.array([[2.0, 6.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 5.0]])
    np.testing.assert_array_equal(
        leaf_fractions(counts), [[0.25, 0.75, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]]
    )
    with pytest.raises(ValueError, match="no positive class weight"):
        leaf_fractions(np.array([[0.0, 0.0, 0.0]]))


@pytest.mark.parametrize(
    ("setting", "value"), [("min_frequency", 5), ("max_categories", 3), ("min_frequency", 0.2)]
)
def test_infrequent_category_grouping_is_rejected(setting: str, value: float) -> None:
    rows = generate_baskets(300, seed=2)
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, **{setting: value}
    )
    pipeline = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [("grouped", encoder, [0, 1, 2]), ("numeric", "passthrough", [6, 7])]
                ),
            ),
            ("forest", RandomForestClassifier(n_estimators=2, random_state=0)),
        ]
    ).fit(rows.features, rows.labels)
    with pytest.raises(ValueError, match=rf"pipeline\.grouped: OrdinalEncoder {setting}="):
        compile_pipeline(pipeline, {}, input_features=INPUT_FEATURES)


def test_a_forest_the_server_cannot_lay_out_is_refused_at_compile_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = generate_baskets(300, seed=3)
    pipeline = Pipeline(
        [
            ("encode", ColumnTransformer([("numeric", "passthrough", [6, 7])])),
            ("forest", RandomForestClassifier(n_estimators=2, random_state=0)),
        ]
    ).fit(rows.features, rows.labels)
    compile_pipeline(pipeline, {}, input_features=INPUT_FEATURES)
    monkeypatch.setattr(evaluator, "MAX_LAYOUT_SLOTS", 16)
    with pytest.raises(ValueError, match=r"max_depth: depth \d+ with n_trees=2 .* max_depth <= 3"):
        compile_pipeline(pipeline, {}, input_features=INPUT_FEATURES)
