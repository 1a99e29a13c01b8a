"""App factory: ``create_app(settings)``; the model loads in the lifespan, not at import."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

import retail_api
from retail_api.api.errors import install_error_handlers
from retail_api.api.routes import health, metrics, model_info, predict
from retail_api.api.routes.docs import install_docs
from retail_api.core.admission import ADMISSION_STATE_KEY, Admission, BatchLane
from retail_api.core.config import Settings
from retail_api.core.drain import DRAIN_STATE_KEY, Drain
from retail_api.core.logging import access_log_for
from retail_api.core.metrics import Metrics
from retail_api.core.middleware import ObserveMiddleware
from retail_api.forest.loader import ModelLoadError, load_model
from retail_api.predictor import Predictor
from retail_api.schemas import PredictRequest

logger = logging.getLogger("retail_api")

# Batches parsing and predicting at once per worker; more wait without holding a thread.
# One: the batch thread and the event loop share the GIL, and every extra batch thread is
# another holder the loop (and /health/live) must wait behind.
BATCH_CONCURRENCY = 1
# How long a thread may hold the GIL while another waits (CPython's default is 5 ms). The
# loop needs it a few times per request, so under a batch 5 ms waits add up on /health/live.
GIL_SWITCH_SECONDS = 0.001
# How often each worker republishes its memory/CPU figures in multiprocess mode.
PROCESS_METRICS_SECONDS = 5.0
# Container allocations between young collections (CPython's default is 700): a /predict
# request allocates a few hundred, so at 700 the collector ran every few requests.
GC_YOUNG_THRESHOLD = 20_000


def _load_into(app: FastAPI, settings: Settings) -> None:
    """Load the model; on failure keep serving (liveness up, readiness 503) and say why."""
    try:
        model = load_model(settings.model_dir)
    except ModelLoadError as exc:
        app.state.model, app.state.predictor, app.state.model_error = None, None, str(exc)
        app.state.metrics.set_model(None, None)
        # The log names the directory; /health shows only the file and fault (no paths).
        logger.error(
            "model load failed in %s: %s",
            settings.model_dir,
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


@contextlib.contextmanager
def _settled_heap() -> Iterator[None]:
    """While serving: the start-up heap frozen, young collections rarer.

    What start-up allocated (FastAPI, pydantic, numpy, the model: over 60,000 objects) lives
    as long as the worker, yet every older-generation collection walked all of it again;
    frozen, it is out of the collector's way
    (https://docs.python.org/3/library/gc.html#gc.freeze). Restored at shutdown.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


async def _publish_process_metrics(metrics: Metrics) -> None:
    while True:
        metrics.refresh_process()
        await asyncio.sleep(PROCESS_METRICS_SECONDS)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    _load_into(app, app.state.settings)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    app.state.batch_lane = BatchLane(BATCH_CONCURRENCY, app.state.drain)
    metrics: Metrics = app.state.metrics
    publisher = (
        asyncio.create_task(_publish_process_metrics(metrics)) if metrics.multiprocess else None
    )
    # uvicorn hands this state to every connection: the protocol starts the drain and
    # reserves body bytes from it.
    with _settled_heap():
        yield {DRAIN_STATE_KEY: app.state.drain, ADMISSION_STATE_KEY: app.state.admission}
    if publisher is not None:
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher
    metrics.mark_dead()
    app.state.model = app.state.predictor = None
    logger.info("shutdown complete", extra={"event": "shutdown"})


def _openapi_with_request_schema(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus PredictRequest, which the routes reference by $ref: they
    read their bodies themselves (api/body.py), so FastAPI does not add it."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["PredictRequest"] = PredictRequest.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Retail price-sensitivity API",
        version=retail_api.__version__,
        description="Predicts basket price sensitivity (Low/Medium/High) with a compiled "
        "random forest.",
        lifespan=_lifespan,
        # A slash redirect would be built from the client's Host header; /health/ is a 404.
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
        # The app exports Prometheus metrics and JSON logs itself. FastAPI's OpenTelemetry
        # hooks, left on, look up tracer and meter providers (environment reads) on every
        # request for providers nobody configures here.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.model = app.state.predictor = None
    app.state.model_error = "model not loaded yet"
    app.state.drain = Drain(settings.shutdown_timeout)
    app.state.admission = Admission(settings.max_inflight_body_bytes, settings.max_inflight_batches)
    routers = (
        predict.router,
        health.router,
        health.ready_router,
        model_info.router,
        metrics.router,
    )
    observe = functools.partial(
        ObserveMiddleware,
        metrics=app.state.metrics,
        access_log=access_log_for(settings.log_level),
        paths=frozenset(
            route.path
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
        ),
        direct={("/predict", "POST"): predict.predict},
        handlers=app.exception_handlers,
    )
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: observe(build_stack())  # type: ignore[method-assign]
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    health.serve_probes_directly(app)
    install_docs(app)
    app.openapi = lambda: _openapi_with_request_schema(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the environment.

    Python warnings go through logging too, so stderr carries JSON lines only.
    """
    logging.captureWarnings(True)
    return create_app(Settings())
