"""api/body.py, the one body reader: size limit, body deadline and client disconnects,
against a real uvicorn process (where that behaviour lives); the rest with TestClient."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import LiveServer, ServerFactory, connect, read_until_closed

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(start_module_server: ServerFactory) -> LiveServer:
    return start_module_server(MAX_BODY_BYTES=str(LIMIT), BODY_TIMEOUT="1")


def _status_and_body(reply: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower(), head
    return int(head.split()[1]), json.loads(body)


@pytest.mark.timeout(30)
def test_declared_length_over_limit_is_refused_before_the_body(server: LiveServer) -> None:
    """Content-Length alone decides: nothing of the 200 MB is read or buffered."""
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200000000\r\n\r\n["
        )
        status, body = _status_and_body(read_until_closed(sock, timeout=10))
    assert status == 413
    assert body == {"detail": f"request body exceeds {LIMIT} bytes"}


@pytest.mark.timeout(30)
def test_chunked_body_is_cut_off_at_the_limit(server: LiveServer, basket: dict[str, Any]) -> None:
    """No Content-Length: counted while reading, refused once past the limit."""

    def chunks() -> Any:
        yield b"["
        while True:  # endless; the server must stop it
            yield json.dumps(basket).encode() + b","

    response = httpx.post(
        f"{server.base}/predict/batch",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["detail"] == f"request body exceeds {LIMIT} bytes"


@pytest.mark.timeout(30)
def test_stalled_body_gets_408(server: LiveServer) -> None:
    """A body shorter than its Content-Length ends at the body deadline, not never."""
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"SPEND": '
        )
        started = time.monotonic()
        status, body = _status_and_body(read_until_closed(sock, timeout=10))
    assert status == 408
    assert body == {"detail": "request body not received within 1 s"}
    assert 0.8 < time.monotonic() - started < 5


def _requests_total(base: str, route: str, status: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    pattern = (
        rf'^retail_api_requests_total{{method="POST",route="{route}",status="{status}"}} (\S+)$'
    )
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.mark.timeout(30)
@pytest.mark.parametrize("route", ["/predict", "/predict/batch"])
def test_client_leaving_mid_body_is_499_not_500(server: LiveServer, route: str) -> None:
    before = _requests_total(server.base, route, "499")
    with connect(server.port) as sock:
        sock.sendall(
            f"POST {route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 5000\r\n\r\n[{".encode()
        )
        time.sleep(0.2)  # let the route start reading
    deadline = time.monotonic() + 5
    while _requests_total(server.base, route, "499") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _requests_total(server.base, route, "499") == before + 1
    assert _requests_total(server.base, route, "500") == 0
    assert _requests_total(server.base, route, "400") == 0


def _padded_batch(basket: dict[str, Any], size: int) -> bytes:
    """A valid one-basket batch padded with JSON whitespace to exactly `size` bytes."""
    raw = json.dumps([basket]).encode()
    return raw[:-1] + b" " * (size - len(raw)) + b"]"


def _chunks(raw: bytes) -> Any:
    for start in range(0, len(raw), 4096):
        yield raw[start : start + 4096]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_of_exactly_the_limit_passes_and_one_more_byte_is_413(
    server: LiveServer, basket: dict[str, Any], chunked: bool
) -> None:
    headers = {"content-type": "application/json"}
    for size, status in ((LIMIT, 200), (LIMIT + 1, 413)):
        raw = _padded_batch(basket, size)
        assert len(raw) == size
        content: Any = _chunks(raw) if chunked else raw
        response = httpx.post(
            f"{server.base}/predict/batch", content=content, headers=headers, timeout=10
        )
        assert response.status_code == status, response.text
        if status == 413:
            assert response.json() == {"detail": f"request body exceeds {LIMIT} bytes"}


@pytest.mark.timeout(60)
def test_no_traceback_after_hostile_bodies(server: LiveServer) -> None:
    """Runs last in this module: everything above left no traceback in the log."""
    log = server.stop()
    assert "Traceback" not in log
    assert '"status":499' in log


def test_single_basket_limit_is_16_kib(client: TestClient, basket: dict[str, Any]) -> None:
    padded = json.dumps(basket) + " " * 16 * 1024
    response = client.post("/predict", content=padded, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"detail": "request body exceeds 16384 bytes"}
    assert response.headers["connection"] == "close"


def test_largest_valid_batch_fits_the_default_limit(
    client: TestClient, basket: dict[str, Any]
) -> None:
    """1000 baskets with every text field at its 64-character maximum, indented."""
    widest = {**basket, **{key: "W" * 64 for key in ("BASKET_TYPE", "STORE_REGION")}}
    widest |= {"PROD_CODE_20": "W" * 64, "PROD_CODE_30": "W" * 64, "SPEND": 99999.99}
    raw = json.dumps([widest] * 1000, indent=2)
    assert len(raw) < 1024 * 1024
    response = client.post(
        "/predict/batch", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["count"] == 1000


@pytest.mark.parametrize("route", ["/predict", "/predict/batch"])
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe\x00", "body: Invalid JSON: expected value at line 1 column 1"),
        # pydantic-core stops at 200 levels, so a 10,000-deep body costs nothing.
        (b"[" * 10_000, "body: Invalid JSON: recursion limit exceeded at line 1 column 202"),
        (b"", "body: Invalid JSON: EOF while parsing a value at line 1 column 0"),
    ],
)
def test_same_fault_same_422_on_both_routes(
    client: TestClient, route: str, raw: bytes, message: str
) -> None:
    response = client.post(route, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["messages"] == [f"{message} (rule: json_invalid)"]


@pytest.mark.parametrize("route", ["/predict", "/predict/batch"])
def test_wrong_content_type_same_422_on_both_routes(client: TestClient, route: str) -> None:
    response = client.post(route, content=b"[]", headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert response.json()["messages"] == [
        "body: Content-Type must be application/json, got text/plain (rule: content_type)"
    ]


@pytest.mark.parametrize("route", ["/predict", "/predict/batch"])
@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_compressed_body_is_415(
    client: TestClient, basket: dict[str, Any], route: str, coding: str
) -> None:
    raw = json.dumps(basket if route == "/predict" else [basket])
    response = client.post(
        route,
        content=raw,
        headers={"content-type": "application/json", "content-encoding": coding},
    )
    assert response.status_code == 415
    assert response.json() == {
        "detail": f"Content-Encoding '{coding}' is not supported; send the body uncompressed"
    }


def test_identity_encoding_is_accepted(client: TestClient, basket: dict[str, Any]) -> None:
    response = client.post(
        "/predict",
        content=json.dumps(basket),
        headers={"content-type": "application/json", "content-encoding": "identity"},
    )
    assert response.status_code == 200


def test_repeated_key_is_422_naming_it(client: TestClient, basket: dict[str, Any]) -> None:
    raw = json.dumps(basket)[:-1] + ', "SPEND": 3.0}'
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["messages"] == [
        "SPEND: Key given more than once in one JSON object (rule: json_duplicate_key)"
    ]


def test_repeated_key_in_a_batch_names_the_item(client: TestClient, basket: dict[str, Any]) -> None:
    second = json.dumps(basket)[:-1] + ', "BASKET_SIZE": "L"}'
    raw = f"[{json.dumps(basket)}, {second}]"
    response = client.post(
        "/predict/batch", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["messages"] == [
        "[1].BASKET_SIZE: Key given more than once in one JSON object (rule: json_duplicate_key)"
    ]


def test_colons_inside_values_are_not_taken_for_repeated_keys(
    client: TestClient, basket: dict[str, Any]
) -> None:
    """Colons in strings send the body to the slow check, which finds nothing."""
    odd = {**basket, "BASKET_TYPE": "A:B:C", "PROD_CODE_20": "::"}
    assert client.post("/predict", json=odd).status_code == 200
    assert client.post("/predict/batch", json=[odd, basket]).json()["count"] == 2
