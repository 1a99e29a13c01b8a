"""Liveness and readiness: /health/live never looks at the model; /health and /ready do.

GET and HEAD both answer: some load balancers probe with HEAD (uvicorn sends no body then).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response

from retail_api.api.responses import ModelResponse
from retail_api.schemas import HealthResponse, LiveResponse

router = APIRouter(prefix="/health", tags=["health"])
ready_router = APIRouter(prefix="/ready", tags=["health"])

_UNHEALTHY: dict[int | str, dict[str, Any]] = {
    503: {
        "model": HealthResponse,
        "description": "No model is loaded, or the worker is stopping; `detail` says which",
    }
}


def model_status(request: Request) -> ModelResponse:
    """200 healthy with the model's version, or 503 naming the load fault (never a path)
    or saying the worker is stopping (load balancers then send it nothing new)."""
    state = request.app.state
    model = state.model
    if model is None or state.drain.draining:
        error: str | None = "shutting down" if state.drain.draining else state.model_error
        return ModelResponse(
            HealthResponse(
                status="unhealthy",
                model_loaded=model is not None,
                model_version=None if model is None else model.version,
                detail=error,
            ),
            status_code=503,
        )
    # `detail` is left out of a healthy body rather than sent as null.
    return ModelResponse(
        HealthResponse(status="healthy", model_loaded=True, model_version=model.version),
        exclude_unset=True,
    )


async def health(request: Request) -> ModelResponse:
    """200 when the model is loaded, 503 otherwise."""
    return model_status(request)


async def live() -> ModelResponse:
    """200 while the process serves, whatever the model's state."""
    return ModelResponse(LiveResponse(status="alive"))


async def ready(request: Request) -> ModelResponse:
    """Readiness for load balancers: same rule as /health."""
    return model_status(request)


def _probe(
    router: APIRouter,
    path: str,
    endpoint: Callable[..., Coroutine[Any, Any, ModelResponse]],
    model: type[HealthResponse | LiveResponse],
    responses: dict[int | str, dict[str, Any]],
) -> None:
    """GET documents the body; HEAD is its own operation (own id), statuses only."""
    name = endpoint.__name__
    router.add_api_route(path, endpoint, methods=["GET"], response_model=model, responses=responses)
    router.add_api_route(
        path,
        endpoint,
        methods=["HEAD"],
        operation_id=f"{name}_head",
        response_class=Response,
        responses={
            status: {"description": spec["description"]} for status, spec in responses.items()
        },
    )


_probe(router, "", health, HealthResponse, _UNHEALTHY)
_probe(router, "/live", live, LiveResponse, {})
_probe(ready_router, "", ready, HealthResponse, _UNHEALTHY)
