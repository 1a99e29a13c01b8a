"""Shared FastAPI dependencies as ``Annotated`` aliases.

They are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a
threadpool, which costs more than these attribute lookups.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from retail_api.core.config import Settings
from retail_api.core.metrics import Metrics
from retail_api.model.loader import CompiledModel


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_optional_model(request: Request) -> CompiledModel | None:
    model: CompiledModel | None = request.app.state.model
    return model


async def require_model(
    model: Annotated[CompiledModel | None, Depends(get_optional_model)],
) -> CompiledModel:
    if model is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "model not loaded")
    return model


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
OptionalModelDep = Annotated[CompiledModel | None, Depends(get_optional_model)]
ModelDep = Annotated[CompiledModel, Depends(require_model)]
