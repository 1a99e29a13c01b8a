"""One plain ASGI middleware around the whole app: metrics, the access log, security headers,
the answers nothing else gives (a route that raised, a request cancelled at shutdown, a
request the connection layer refused), and the hot route served directly.

It wraps Starlette's whole middleware stack (main.py), so it sees every response, the error
middleware's included. A plain ASGI class (not BaseHTTPMiddleware) costs one extra coroutine
frame; everything it does after the response is a dict lookup, two metric updates and one
write.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
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


Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


class ObserveMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        access_log: AccessLog | None,
        paths: frozenset[str] = frozenset(),
        direct: Mapping[tuple[str, str], Endpoint] | None = None,
        handlers: Mapping[Any, Handler] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        # (path, method) -> endpoint served without Starlette's error middleware, exception
        # middleware and router; its exceptions go to the app's `handlers` all the same.
        self.direct = direct or {}
        self.handlers = handlers or {}
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
            endpoint = self.direct.get((scope["path"], scope["method"]))
            if refused is not None:
                label = scope["path"] if scope["path"] in self.paths else "unmatched"
                await send_error(send_wrapper, *refused)
            elif endpoint is not None:
                label = scope["path"]
                await self._serve_directly(endpoint, scope, receive, send_wrapper)
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

    async def _serve_directly(
        self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send
    ) -> None:
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> Handler | None:
        """The app's handler for `exc`'s class or nearest base, as Starlette looks it up;
        the catch-all Exception handler is left to this middleware's own 500."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        return None
