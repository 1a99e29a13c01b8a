"""GET /metrics exposes request, prediction and model series; docs are served."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not in metrics"
    return float(match.group(1))


def test_requests_and_predictions_counted(client: TestClient, basket: dict[str, Any]) -> None:
    for _ in range(3):
        client.post("/predict", json=basket)
    client.post("/predict", json={**basket, "SPEND": -1})
    client.post("/predict/batch", json=[basket, basket])
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert (
        _value(text, 'retail_api_requests_total{method="POST",route="/predict",status="200"}') == 3
    )
    assert (
        _value(text, 'retail_api_requests_total{method="POST",route="/predict",status="422"}') == 1
    )
    assert (
        _value(text, 'retail_api_requests_total{method="GET",route="unmatched",status="404"}') == 1
    )
    predicted = client.post("/predict", json=basket).json()["prediction"]
    text = client.get("/metrics").text
    assert _value(text, f'retail_api_predictions_total{{prediction="{predicted}"}}') == 6
    assert 'retail_api_request_duration_seconds_bucket{le="0.5",method="POST"' in text


def test_model_info_gauge(client: TestClient) -> None:
    version = client.get("/health").json()["model_version"]
    text = client.get("/metrics").text
    series = (
        f'retail_api_model_info{{algorithm="RandomForestClassifier",model_version="{version}"}}'
    )
    assert _value(text, series) == 1
    assert _value(text, "retail_api_model_loaded") == 1


def test_model_loaded_gauge_without_model(no_model_client: TestClient) -> None:
    text = no_model_client.get("/metrics").text
    assert _value(text, "retail_api_model_loaded") == 0
    assert no_model_client.get("/metrics").headers["content-type"].startswith("text/plain")


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/predict",
        "/predict/batch",
        "/health",
        "/health/live",
        "/ready",
        "/model/info",
        "/metrics",
    } <= set(spec["paths"])
    props = spec["components"]["schemas"]["PredictRequest"]["properties"]
    assert set(props) == {
        "BASKET_SIZE",
        "BASKET_TYPE",
        "STORE_REGION",
        "STORE_FORMAT",
        "SPEND",
        "QUANTITY",
        "PROD_CODE_20",
        "PROD_CODE_30",
    }
    assert client.get("/docs").status_code == 200


def test_framework_routes_are_labelled_by_path(client: TestClient) -> None:
    """/openapi.json and /docs are Starlette routes, not FastAPI ones."""
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.post("/docs").status_code == 405
    text = client.get("/metrics").text
    for route in ("/openapi.json", "/docs"):
        series = f'retail_api_requests_total{{method="GET",route="{route}",status="200"}}'
        assert _value(text, series) == 1
    assert _value(text, 'retail_api_requests_total{method="POST",route="/docs",status="405"}') == 1
    assert 'route="unmatched"' not in text


def test_no_slash_redirects_and_404s_keep_labels_bounded(client: TestClient) -> None:
    # A redirect would be built from the Host header, so a trailing slash is a plain 404.
    slash = client.get("/health/", headers={"host": "evil.example"}, follow_redirects=False)
    assert slash.status_code == 404
    assert "location" not in slash.headers
    assert client.get("/predict/", follow_redirects=False).status_code == 404
    for i in range(5):
        assert client.get(f"/random/{i}").status_code == 404
    text = client.get("/metrics").text
    assert (
        _value(text, 'retail_api_requests_total{method="GET",route="unmatched",status="404"}') == 7
    )
    assert "/random/" not in text
    assert 'route="/health/"' not in text
