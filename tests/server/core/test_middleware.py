"""core/middleware.py: what a route that raises sends, counts and logs (TestClient)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from retail_api.core.config import DEFAULT_MODEL_DIR, Settings
from retail_api.main import create_app


class _BoomError(Exception):
    pass


def _app_with_faulty_routes() -> FastAPI:
    app = create_app(Settings(model_dir=DEFAULT_MODEL_DIR))

    @app.get("/boom")
    async def boom() -> Response:
        raise _BoomError("route failed")

    @app.get("/boom-mid-body")
    async def boom_mid_body() -> Response:
        class Broken(Response):
            async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
                await send({"type": "http.response.start", "status": 200, "headers": []})
                raise _BoomError("body failed")

        return Broken()

    return app


def _count(text: str, route: str, status: int) -> float:
    series = f'retail_api_requests_total{{method="GET",route="{route}",status="{status}"}}'
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_route_that_raises_is_a_counted_and_logged_500(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(_app_with_faulty_routes()) as client:
        response = client.get("/boom")
        assert response.status_code == 500
        assert response.json() == {"detail": "internal server error"}
        assert response.headers["x-content-type-options"] == "nosniff"
        text = client.get("/metrics").text
    assert _count(text, "/boom", 500) == 1
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    access = [e for e in lines if e["logger"] == "retail_api.access" and e["route"] == "/boom"]
    assert [e["status"] for e in access] == [500]
    (error,) = [r for r in caplog.records if getattr(r, "event", None) == "unhandled_error"]
    assert error.levelname == "ERROR"
    assert error.exc_info is not None
    assert str(error.exc_info[1]) == "route failed"


def test_failure_after_the_response_started_is_recorded_as_500() -> None:
    """The client saw a 200 status line, but the request failed: it counts as a 500."""
    with TestClient(_app_with_faulty_routes()) as client:
        client.get("/boom-mid-body")
        text = client.get("/metrics").text
    assert _count(text, "/boom-mid-body", 500) == 1
    assert _count(text, "/boom-mid-body", 200) == 0
