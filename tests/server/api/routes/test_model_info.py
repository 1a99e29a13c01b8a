"""GET /model/info reports what the artifact says, nothing hard-coded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from retail_api.core.config import DEFAULT_MODEL_DIR
from retail_api.forest.contract import INPUT_FEATURES
from tests.server.conftest import ClientFactory


def test_info_matches_artifact(client: TestClient) -> None:
    meta = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    body = client.get("/model/info").json()
    assert body["model_version"] == meta["model_version"]
    assert body["algorithm"] == "RandomForestClassifier"
    assert body["hyperparameters"]["n_estimators"] == 100
    assert body["hyperparameters"]["max_depth"] == 10
    assert body["size"] == meta["size"] | {
        "artifact_bytes": sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    }
    assert body["classes"] == meta["classes"]
    assert body["metrics"] == meta["metrics"]
    assert set(body["metrics"]) == {"holdout_accuracy", "holdout_macro_f1"}
    assert body["training"] == meta["training"]
    assert [f["name"] for f in body["features"]] == [f["name"] for f in meta["features"]]
    region = next(f for f in body["features"] if f["name"] == "STORE_REGION")
    assert "LONDON" in region["categories"]


def test_info_answers_each_question_by_an_obvious_name(client: TestClient) -> None:
    """The issue asks for version, algorithm and size, feature names, classes, training
    date, training data and holdout metrics: each is a top-level key."""
    meta = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    body = client.get("/model/info").json()
    assert body["version"] == body["model_version"] == meta["model_version"]
    assert body["algorithm"] == meta["algorithm"]
    assert body["hyperparameters"]["n_estimators"] == body["size"]["n_trees"] == 100
    assert {"n_nodes", "n_leaves", "max_depth", "arrays_bytes", "artifact_bytes"} <= set(
        body["size"]
    )
    assert body["feature_names"] == list(INPUT_FEATURES)
    assert body["classes"] == ["High", "Low", "Medium"]
    assert body["trained_at"] == meta["training"]["trained_at"]
    assert body["training_data"] == meta["training"]["data"]
    assert "synthetic" in body["training_data"]["source"]
    assert body["training_data"]["rows"] == 20_000
    assert body["training_data"]["seed"] == meta["training"]["data"]["seed"]
    assert set(body["metrics"]) == {"holdout_accuracy", "holdout_macro_f1"}
    assert 0 < body["metrics"]["holdout_accuracy"] < 1


def test_info_follows_edited_metadata(make_client: ClientFactory, tmp_path: Path) -> None:
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    meta = json.loads((target / "model.json").read_text())
    meta["metrics"] = {"holdout_accuracy": 0.5}
    meta["training"]["trained_at"] = "2000-01-01T00:00:00+00:00"
    meta["training"]["data"]["rows"] = 123
    meta["model_version"] = "rf-edited"
    (target / "model.json").write_text(json.dumps(meta))
    body = make_client(target).get("/model/info").json()
    assert body["metrics"] == {"holdout_accuracy": 0.5}
    assert body["training"]["trained_at"] == "2000-01-01T00:00:00+00:00"
    assert body["trained_at"] == "2000-01-01T00:00:00+00:00"
    assert body["training_data"]["rows"] == 123
    assert body["version"] == body["model_version"] == "rf-edited"
    assert body["size"]["artifact_bytes"] == sum(p.stat().st_size for p in target.iterdir())


def test_info_without_training_record(make_client: ClientFactory, tmp_path: Path) -> None:
    """A pipeline compiled from a SageMaker tarball has no training date: null, not an error."""
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    meta = json.loads((target / "model.json").read_text())
    meta["training"] = {"source": "model.tar.gz"}
    (target / "model.json").write_text(json.dumps(meta))
    body = make_client(target).get("/model/info").json()
    assert body["trained_at"] is None
    assert body["training_data"] == {}
    assert body["training"] == {"source": "model.tar.gz"}


def test_info_without_model_is_503(no_model_client: TestClient) -> None:
    assert no_model_client.get("/model/info").status_code == 503
