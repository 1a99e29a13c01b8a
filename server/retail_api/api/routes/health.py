"""Liveness and readiness: /health/live never looks at the model; /health and /ready do."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from retail_api.api.deps import OptionalModelDep
from retail_api.schemas import HealthResponse, LiveResponse

router = APIRouter(prefix="/health", tags=["health"])
ready_router = APIRouter(prefix="/ready", tags=["health"])

_UNHEALTHY: dict[int | str, dict[str, Any]] = {
    503: {"model": HealthResponse, "description": "No model is loaded"}
}


def _model_status(request: Request, model: OptionalModelDep, response: Response) -> HealthResponse:
    if model is None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        error: str | None = request.app.state.model_error
        return HealthResponse(
            status="unhealthy", model_loaded=False, model_version=None, detail=error
        )
    return HealthResponse(status="healthy", model_loaded=True, model_version=model.version)


@router.get(
    "", response_model=HealthResponse, responses=_UNHEALTHY, response_model_exclude_unset=True
)
async def health(request: Request, model: OptionalModelDep, response: Response) -> HealthResponse:
    """200 when the model is loaded, 503 otherwise."""
    return _model_status(request, model, response)


@router.get("/live", response_model=LiveResponse)
async def live() -> LiveResponse:
    """200 while the process serves, whatever the model's state."""
    return LiveResponse(status="alive")


@ready_router.get(
    "", response_model=HealthResponse, responses=_UNHEALTHY, response_model_exclude_unset=True
)
async def ready(request: Request, model: OptionalModelDep, response: Response) -> HealthResponse:
    """Readiness for load balancers: same rule as /health."""
    return _model_status(request, model, response)
