"""/docs works offline, OpenAPI lists every status each route sends, nosniff everywhere."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient


def test_docs_page_loads_every_asset_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, page.text
    for url in assets:
        # Relative to this server: no CDN, so an air-gapped cluster still renders it.
        assert url.startswith("/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500
    assert "https://" not in page.text
    assert "url: '/openapi.json'" in page.text


def test_redoc_is_not_served(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404


# Written out from what each route can send (api/body.py, api/deps.py, routes/health.py).
DOCUMENTED = {
    ("/predict", "post"): {"200", "408", "413", "415", "422", "503"},
    ("/predict/batch", "post"): {"200", "408", "413", "415", "422", "503"},
    ("/health", "get"): {"200", "503"},
    ("/health", "head"): {"200", "503"},
    ("/ready", "get"): {"200", "503"},
    ("/ready", "head"): {"200", "503"},
    ("/health/live", "get"): {"200"},
    ("/health/live", "head"): {"200"},
    ("/model/info", "get"): {"200", "503"},
    ("/metrics", "get"): {"200"},
}


def test_openapi_documents_every_status(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    found = {
        (path, method): set(operation["responses"])
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    assert found == DOCUMENTED


def test_both_predict_routes_document_one_error_shape(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in ("/predict", "/predict/batch"):
        responses = paths[route]["post"]["responses"]
        schema = responses["422"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ValidationErrorResponse"}
    batch = paths["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["maxItems"] == 1000


def test_quantity_is_documented_as_integer(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    quantity = schemas["PredictRequest"]["properties"]["QUANTITY"]
    assert (quantity["type"], quantity["exclusiveMinimum"], quantity["maximum"]) == (
        "integer",
        0,
        10000,
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/health"), ("POST", "/predict"), ("GET", "/nope"), ("GET", "/docs")],
)
def test_every_response_says_nosniff(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.headers["x-content-type-options"] == "nosniff"


def test_documented_blank_rule_is_the_validators_rule(client: TestClient) -> None:
    """Every code point: the OpenAPI pattern and the validator agree on what is blank."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    pattern = re.compile(schemas["PredictRequest"]["properties"]["STORE_REGION"]["pattern"])
    disagree = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if (pattern.search(chr(code)) is None) != chr(code).isspace()
    ]
    assert disagree == []


@pytest.mark.parametrize(
    ("label", "status"), [("\u001c", 422), ("\u001f\u0020", 422), ("\ufeff", 200), ("\u200b", 200)]
)
def test_edge_whitespace_labels(
    client: TestClient, basket: dict[str, Any], label: str, status: int
) -> None:
    assert client.post("/predict", json={**basket, "STORE_REGION": label}).status_code == status
