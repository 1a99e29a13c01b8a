"""Error responses: 422 bodies that name each bad field and the rule, capped; 408, 413, 415,
499, and 503 + Retry-After when the worker is full or stopping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from retail_api.api.body import (
    BodyTimeoutError,
    BodyTooLargeError,
    ClientGoneError,
    UnsupportedEncodingError,
)
from retail_api.core.admission import OverloadedError
from retail_api.core.middleware import RETRY_AFTER_SECONDS

# Unbounded, a 10 KB batch of junk gives 9,000 errors (1.4 MB); the first few name the fault.
MAX_REPORTED_ERRORS = 20
# nginx's code for "client closed the request": never sent, but it is what the access log
# and the request counter show, so a client hanging up is not counted as a server error.
CLIENT_CLOSED_REQUEST = 499


def _field(loc: Sequence[str | int]) -> str:
    """("body", 3, "SPEND") -> "[3].SPEND"; the request body itself is "body"."""
    parts = list(loc[1:]) if loc and loc[0] == "body" else list(loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def describe_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Keep loc/msg/type and add the field name; drop echoed input and ctx objects."""
    return [
        {
            "loc": list(error.get("loc", ())),
            "field": _field(error.get("loc", ())),
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    detail = describe_errors(errors[:MAX_REPORTED_ERRORS])
    messages = [f"{item['field']}: {item['msg']} (rule: {item['type']})" for item in detail]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": detail, "messages": messages, "error_count": len(errors)},
    )


def _closing_error(status_code: int, message: str, **headers: str) -> Response:
    # Connection: close makes uvicorn drop the connection instead of draining a body
    # the client may still be sending.
    return JSONResponse(
        status_code=status_code,
        content={"detail": message},
        headers={"connection": "close", **headers},
    )


async def _too_large(request: Request, exc: Exception) -> Response:
    return _closing_error(status.HTTP_413_CONTENT_TOO_LARGE, str(exc))


async def _timeout(request: Request, exc: Exception) -> Response:
    return _closing_error(status.HTTP_408_REQUEST_TIMEOUT, str(exc))


async def _unsupported_encoding(request: Request, exc: Exception) -> Response:
    return _closing_error(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc))


async def _overloaded(request: Request, exc: Exception) -> Response:
    return _closing_error(
        status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), **{"retry-after": str(RETRY_AFTER_SECONDS)}
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette's error middleware answers with this, then re-raises: the outer middleware
    # (core/middleware.py) logs the exception and counts the 500.
    return JSONResponse(status_code=500, content={"detail": "internal server error"})


async def _client_gone(request: Request, exc: Exception) -> Response:
    # uvicorn drops writes to a closed connection; this only sets the logged status.
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(BodyTooLargeError, _too_large)
    app.add_exception_handler(BodyTimeoutError, _timeout)
    app.add_exception_handler(UnsupportedEncodingError, _unsupported_encoding)
    app.add_exception_handler(OverloadedError, _overloaded)
    app.add_exception_handler(ClientGoneError, _client_gone)
    app.add_exception_handler(Exception, _internal_error)
