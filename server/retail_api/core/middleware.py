"""One plain ASGI middleware per request: metrics, the access log, security headers, and the
answers nothing else gives (a route that raised, a request cancelled at shutdown, a request
the connection layer refused).

A plain ASGI class (not BaseHTTPMiddleware) costs one extra coroutine frame; everything
it does after the response is a dict lookup, two metric updates and one write.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retail_api.core.connection import REJECT_EXTENSION
from retail_api.core.logging import AccessLog
from retail_api.core.metrics import Metrics

logger = logging.getLogger("retail_api")

_NOSNIFF = (b"x-content-type-options", b"nosniff")
# Seconds a client refused for load or shutdown should wait (RFC 9110 section 10.2.3).
RETRY_AFTER_SECONDS = 1


def _path_of(route: object) -> str | None:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else None


def route_label(scope: Scope) -> str:
    """The route template that served the request; never a raw request path.

    FastAPI leaves its ``APIRoute`` in ``scope["route"]``. Plain Starlette routes
    (``/openapi.json``, ``/docs``) don't, so they are found by asking the app's routes
    which one matches, as the router did. What matched no route is ``"unmatched"``, so
    the label set is bounded by the app's routes.
    """
    path = _path_of(scope.get("route"))
    if path is not None:
        return path
    for route in getattr(scope.get("router"), "routes", ()):
        path = _path_of(route)
        # Routers included by FastAPI have no path; their APIRoutes set scope["route"].
        if path is not None and route.matches(scope)[0] is not Match.NONE:
            return path
    return "unmatched"


def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace('"', '\\"').encode()


async def send_error(send: Send, status: int, detail: str) -> None:
    """A JSON `{"detail": …}` answer that ends the connection; 503s say when to retry."""
    body = b'{"detail":"' + _escape(detail) + b'"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if status == 503:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ObserveMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        access_log: AccessLog | None,
        paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        # The app's route paths (none has parameters): a request the connection layer
        # refused before routing is still labelled by its route.
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        label: str | None = None
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), _NOSNIFF]
            await send(message)

        try:
            extensions = scope.get("extensions")
            refused = extensions.get(REJECT_EXTENSION) if extensions else None
            if refused is not None:
                label = scope["path"] if scope["path"] in self.paths else "unmatched"
                await send_error(send_wrapper, *refused)
            else:
                await self.app(scope, receive, send_wrapper)
        except asyncio.CancelledError:
            # uvicorn cancels what is still running when its graceful period ends.
            if not status:
                await send_error(send_wrapper, 503, "server shutting down")
        except Exception:
            logger.exception(
                "unhandled error in %s", scope.get("path"), extra={"event": "unhandled_error"}
            )
            if not status:
                await send_error(send_wrapper, 500, "internal server error")
            else:  # the response started: what went out is not what was meant
                status = 500
        finally:
            seconds = time.perf_counter() - start
            route = label or route_label(scope)
            method: str = scope["method"]
            final = status or 500
            self.metrics.observe(route, method, final, seconds)
            if self.access_log is not None:
                self.access_log.write(method, route, final, seconds, scope.get("client"))
