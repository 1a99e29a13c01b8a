"""The one way a route reads and validates a JSON body: bounded read, then pydantic-core.

Both predict routes use it, so the same fault gets the same status and wording on each:
413 past the byte limit (checked on Content-Length, then while reading, never buffering
past it), 408 when the body stalls, 499 (never sent) when the client leaves, and 422 for
a wrong Content-Type or anything pydantic-core refuses (malformed or non-UTF-8 JSON, too
deep, wrong fields). FastAPI's declared bodies would go through `json.loads` plus a
Python-side validation and buffer any size; this is one C call on the bytes.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect

T = TypeVar("T")

# One basket at its longest (64-character labels, \u-escaped) is under 3 KB.
MAX_SINGLE_BODY_BYTES = 16 * 1024


class BodyTooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds {limit} bytes")
        self.limit = limit


class BodyTimeoutError(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"request body not received within {seconds:g} s")


class ClientGoneError(Exception):
    """The client closed the connection before the body arrived; nobody gets an answer."""


def _check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type", "application/json")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise RequestValidationError(
            [
                {
                    "loc": ("body",),
                    "msg": f"Content-Type must be application/json, got {media_type or 'none'}",
                    "type": "content_type",
                }
            ]
        )


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    # httptools/h11 already refuse a malformed Content-Length with a 400.
    return int(value) if value is not None and value.isdigit() else None


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise BodyTooLargeError(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGoneError from None
    return b"".join(chunks)


async def read_json_body(request: Request, limit: int) -> bytes:
    """The raw body of a JSON request, at most `limit` bytes, within the body timeout."""
    _check_content_type(request)
    seconds: float = request.app.state.settings.body_timeout
    try:
        async with asyncio.timeout(seconds):
            return await _read_limited(request, limit)
    except TimeoutError:
        raise BodyTimeoutError(seconds) from None


def parse_json(adapter: TypeAdapter[T], raw: bytes) -> T:
    """Validate `raw` JSON against `adapter`; errors as FastAPI's body errors (422)."""
    try:
        return adapter.validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


def json_body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` documenting `schema` as the required JSON body."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
