"""Prometheus metrics on a per-app registry, fed by a plain ASGI middleware.

A registry per app (not the global one) lets tests build many apps in one process.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "retail_api_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "retail_api_request_duration_seconds",
            "HTTP request latency by route and status",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "retail_api_predictions",
            "Predictions served by predicted class",
            ["prediction"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "retail_api_model_info",
            "Loaded model (1 = loaded) labelled by version",
            ["model_version", "algorithm"],
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "retail_api_model_loaded",
            "1 when a model is loaded, else 0",
            registry=self.registry,
        )

    def set_model(self, version: str | None, algorithm: str | None) -> None:
        self.model_info.clear()
        if version is not None and algorithm is not None:
            self.model_info.labels(model_version=version, algorithm=algorithm).set(1)
        self.model_loaded.set(0 if version is None else 1)

    def count_predictions(self, labels: Iterable[str]) -> None:
        for label in labels:
            self.predictions.labels(label).inc()


def _path_of(route: object) -> str | None:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else None


def route_label(scope: Scope, status: int) -> str:
    """The route template that served the request; never a raw request path.

    FastAPI leaves its ``APIRoute`` in ``scope["route"]``. Plain Starlette routes
    (``/openapi.json``, ``/docs``, ``/redoc``) don't show up there, so they are found
    by asking the app's routes which one matches, as the router did. What matched no
    route is ``"redirect"`` (trailing-slash redirects) or ``"unmatched"`` (404s and
    the like). Every label is a route template or one of those two words, so the
    label set is bounded by the app's routes.
    """
    path = _path_of(scope.get("route"))
    if path is not None:
        return path
    router = scope.get("router")
    for route in getattr(router, "routes", ()):
        path = _path_of(route)
        # Routers included by FastAPI have no path; their APIRoutes set scope["route"].
        if path is not None and route.matches(scope)[0] is not Match.NONE:
            return path
    return "redirect" if 300 <= status < 400 else "unmatched"


class MetricsMiddleware:
    """Time every HTTP request; label by route template so paths can't explode cardinality."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            labels = (route_label(scope, status), scope["method"], str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)
