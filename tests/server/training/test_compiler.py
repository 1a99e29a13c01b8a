"""Compiled forest vs scikit-learn: parity on >= 10,000 rows, and the SageMaker path."""

from __future__ import annotations

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
from sklearn.preprocessing import OneHotEncoder

from retail_api.model.artifact import arrays_digest
from retail_api.model.loader import CompiledModel, load_model
from training.compiler import compile_pipeline, load_pipeline, write_artifact
from training.compiler import main as compiler_main
from training.generator import generate_baskets
from training.schema import INPUT_FEATURES
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
