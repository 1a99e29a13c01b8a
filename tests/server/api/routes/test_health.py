"""/health, /ready and /health/live, with and without a usable model."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import ClientFactory


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_healthy_with_model(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "healthy",
        "model_loaded": True,
        "model_version": body["model_version"],
    }
    assert body["model_version"].startswith("rf-")


def test_live_with_model(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "alive"}


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_unhealthy_without_model(no_model_client: TestClient, path: str) -> None:
    response = no_model_client.get(path)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["model_loaded"] is False
    assert body["model_version"] is None
    assert "file not found" in body["detail"]


def test_live_without_model(no_model_client: TestClient) -> None:
    response = no_model_client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_missing_model_logs_path_and_problem(
    make_client: ClientFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "nowhere"
    with caplog.at_level(logging.ERROR, logger="retail_api"):
        make_client(missing)
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "model_load_failed"]
    assert record.model_dir == str(missing)  # type: ignore[attr-defined]
    assert record.getMessage() == f"model load failed in {missing}: model.json: file not found"


def test_health_names_the_fault_not_the_path(no_model_client: TestClient) -> None:
    # The fixture's MODEL_DIR is under tmp; the body must not reveal where files live.
    assert no_model_client.get("/health").json()["detail"] == "model.json: file not found"


@pytest.mark.parametrize("path", ["/health", "/ready", "/health/live"])
def test_head_probes_answer_without_a_body(client: TestClient, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200
    assert response.content == b""


def test_head_probe_reports_503_without_model(no_model_client: TestClient) -> None:
    assert no_model_client.head("/health").status_code == 503


def test_corrupt_model_serves_liveness_only(
    make_client: ClientFactory, model_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (model_copy / "forest.npz").write_bytes(b"not a zip file")
    with caplog.at_level(logging.ERROR, logger="retail_api"):
        client = make_client(model_copy)
    assert client.get("/health").status_code == 503
    assert client.get("/health/live").status_code == 200
    detail = client.get("/ready").json()["detail"]
    assert "forest.npz: not a .npz (zip) archive" in detail
    assert "pickled" not in detail  # numpy's misleading message for non-zip bytes
    assert any("forest.npz" in r.getMessage() for r in caplog.records)


def test_bad_metadata_json_is_503(make_client: ClientFactory, model_copy: Path) -> None:
    meta = json.loads((model_copy / "model.json").read_text())
    del meta["classes"]
    (model_copy / "model.json").write_text(json.dumps(meta))
    detail = make_client(model_copy).get("/health").json()["detail"]
    assert "classes: Field required" in detail


def test_readiness_turns_503_once_the_worker_drains(client: TestClient) -> None:
    """What the protocol does on SIGTERM (core/drain.py); liveness is unaffected."""
    client.app.state.drain.begin()  # type: ignore[attr-defined]
    for path in ("/ready", "/health"):
        response = client.get(path)
        assert response.status_code == 503
        body = response.json()
        assert (body["status"], body["detail"], body["model_loaded"]) == (
            "unhealthy",
            "shutting down",
            True,
        )
    assert client.get("/health/live").status_code == 200
