"""Shared FastAPI dependencies as ``Annotated`` aliases, and the predict routes' lookup.

They are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a
threadpool, which costs more than these attribute lookups.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from retail_api.core.metrics import Metrics
from retail_api.forest.loader import CompiledModel
from retail_api.predictor import Predictor


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_model(request: Request) -> CompiledModel:
    """The loaded model, or 503 when none is."""
    model: CompiledModel | None = request.app.state.model
    if model is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "model not loaded")
    return model


def predictor_of(request: Request) -> Predictor:
    """The app's predictor (model + metrics), or 503 when no model is loaded.

    A plain call, not a dependency: the predict routes take only the Request, which saves
    FastAPI's per-dependency work on the hottest path.
    """
    predictor: Predictor | None = request.app.state.predictor
    if predictor is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "model not loaded")
    return predictor


MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ModelDep = Annotated[CompiledModel, Depends(get_model)]
