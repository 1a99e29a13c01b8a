"""App factory: ``create_app(settings)``; the model loads in the lifespan, not at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

import retail_api
from retail_api.api.errors import validation_error_handler
from retail_api.api.routes import health, metrics, model_info, predict
from retail_api.core.config import Settings
from retail_api.core.metrics import Metrics, MetricsMiddleware
from retail_api.forest.loader import ModelLoadError, load_model
from retail_api.predictor import Predictor

logger = logging.getLogger("retail_api")


def _load_into(app: FastAPI, settings: Settings) -> None:
    """Load the model; on failure keep serving (liveness up, readiness 503) and say why."""
    try:
        model = load_model(settings.model_dir)
    except ModelLoadError as exc:
        app.state.model, app.state.predictor, app.state.model_error = None, None, str(exc)
        app.state.metrics.set_model(None, None)
        logger.error(
            "model load failed: %s",
            exc,
            extra={
                "event": "model_load_failed",
                "model_dir": str(settings.model_dir),
                "error": str(exc),
            },
        )
        return
    app.state.model, app.state.model_error = model, None
    app.state.predictor = Predictor(model, app.state.metrics)
    app.state.metrics.set_model(model.version, model.metadata.algorithm)
    logger.info(
        "model loaded",
        extra={
            "event": "model_loaded",
            "model_dir": str(settings.model_dir),
            "model_version": model.version,
        },
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    _load_into(app, app.state.settings)
    yield
    app.state.model = app.state.predictor = None
    logger.info("shutdown complete", extra={"event": "shutdown"})


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Retail price-sensitivity API",
        version=retail_api.__version__,
        description="Predicts basket price sensitivity (Low/Medium/High) with a compiled "
        "random forest.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.model = app.state.predictor = None
    app.state.model_error = "model not loaded yet"
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    for router in (
        predict.router,
        health.router,
        health.ready_router,
        model_info.router,
        metrics.router,
    ):
        app.include_router(router)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the environment."""
    return create_app(Settings())
