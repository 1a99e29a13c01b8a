"""Liveness and readiness: /health/live never looks at the model; /health and /ready do.

GET and HEAD both answer: some load balancers probe with HEAD (uvicorn sends no body then).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.datastructures import State
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

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
    return _status_of(request.app.state)


def _status_of(state: State) -> ModelResponse:
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


class _Probe:
    """An ASGI endpoint answering one probe from bytes rendered once per state.

    Probes come every few seconds from every kubelet and load balancer, and their answer
    changes only when the model loads or the worker starts draining. FastAPI's endpoint
    runner and a pydantic dump per call cost more than the rest of the request; the
    APIRoutes above stay registered, and are what /openapi.json documents.
    """

    def __init__(self, path: str, answer: Callable[[State], ModelResponse]) -> None:
        self.path = path  # the route label the middleware reports
        self._answer = answer
        self._rendered: dict[tuple[int, bool, str | None], tuple[int, list[Any], bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        state: State = scope["app"].state
        key = (id(state.model), state.drain.draining, state.model_error)
        rendered = self._rendered.get(key)
        if rendered is None:
            response = self._answer(state)
            rendered = (response.status_code, response.raw_headers, bytes(response.body))
            self._rendered = {key: rendered}  # one state at a time: nothing accumulates
        status, headers, body = rendered
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def serve_probes_directly(app: FastAPI) -> None:
    """Put the probe endpoints ahead of FastAPI's routes (see _Probe)."""
    alive = ModelResponse(LiveResponse(status="alive"))
    probes = {"/health": _status_of, "/health/live": lambda _: alive, "/ready": _status_of}
    for path, answer in probes.items():
        app.router.routes.insert(0, Route(path, _Probe(path, answer), methods=["GET", "HEAD"]))
