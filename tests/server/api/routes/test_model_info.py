"""GET /model/info reports what the artifact says, nothing hard-coded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from retail_api.core.config import DEFAULT_MODEL_DIR
from tests.server.conftest import ClientFactory


def test_info_matches_artifact(client: TestClient) -> None:
    meta = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    body = client.get("/model/info").json()
    assert body["model_version"] == meta["model_version"]
    assert body["algorithm"] == "RandomForestClassifier"
    assert body["hyperparameters"]["n_estimators"] == 100
    assert body["hyperparameters"]["max_depth"] == 10
    assert body["size"] == meta["size"]
    assert body["classes"] == meta["classes"]
    assert body["metrics"] == meta["metrics"]
    assert set(body["metrics"]) == {"holdout_accuracy", "holdout_macro_f1"}
    assert body["training"] == meta["training"]
    assert [f["name"] for f in body["features"]] == [f["name"] for f in meta["features"]]
    region = next(f for f in body["features"] if f["name"] == "STORE_REGION")
    assert "LONDON" in region["categories"]


def test_info_follows_edited_metadata(make_client: ClientFactory, tmp_path: Path) -> None:
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    meta = json.loads((target / "model.json").read_text())
    meta["metrics"] = {"holdout_accuracy": 0.5}
    meta["training"]["trained_at"] = "2000-01-01T00:00:00+00:00"
    (target / "model.json").write_text(json.dumps(meta))
    body = make_client(target).get("/model/info").json()
    assert body["metrics"] == {"holdout_accuracy": 0.5}
    assert body["training"]["trained_at"] == "2000-01-01T00:00:00+00:00"


def test_info_without_model_is_503(no_model_client: TestClient) -> None:
    assert no_model_client.get("/model/info").status_code == 503
