"""The one way a route reads and validates a JSON body: bounded read, then pydantic-core.

Both predict routes use it, so the same fault gets the same status and wording on each:
413 past the byte limit (checked on Content-Length, then while reading, never buffering
past it), 415 for a compressed body, 408 when the body stalls, 499 (never sent) when the
client leaves, and 422 for a wrong Content-Type, a key given twice in one object, or
anything pydantic-core refuses (malformed or non-UTF-8 JSON, too deep, wrong fields).
FastAPI's declared bodies would go through `json.loads` plus a Python-side validation and
buffer any size; this is one C call on the bytes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect

from retail_api.core.admission import OverloadedError
from retail_api.core.connection import BODY_COMPLETE_EXTENSION
from retail_api.core.drain import Drain

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


class UnsupportedEncodingError(Exception):
    def __init__(self, coding: str) -> None:
        super().__init__(
            f"Content-Encoding {coding!r} is not supported; send the body uncompressed"
        )


class ClientGoneError(Exception):
    """The client closed the connection before the body arrived; nobody gets an answer."""


# The headers that decide about a body (ASGI header names are lowercase).
_BODY_HEADERS = (b"content-type", b"content-encoding", b"content-length")


def _body_headers(request: Request) -> dict[bytes, str]:
    """Those headers in one pass over the raw list, each the first of its name (as
    Starlette's `Headers.get` gives it) instead of one scan per lookup."""
    found: dict[bytes, str] = {}
    for name, value in request.scope["headers"]:
        if name in _BODY_HEADERS and name not in found:
            found[name] = value.decode("latin-1")
    return found


def _check_content_type(content_type: str) -> None:
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


def _check_encoding(coding: str | None) -> None:
    # RFC 9110 section 15.5.16: 415 for a content coding the server does not accept.
    if coding is not None and coding.strip().lower() not in ("", "identity"):
        raise UnsupportedEncodingError(coding.strip())


def _declared_length(value: str | None) -> int | None:
    # httptools/h11 already refuse a malformed Content-Length with a 400.
    return int(value) if value is not None and value.isdigit() else None


def check_head(request: Request, limit: int) -> int:
    """Everything the headers alone decide (422, 415, 413); returns the bytes the body may
    take, which the caller reserves before reading it (core/admission.py)."""
    headers = _body_headers(request)
    _check_content_type(headers.get(b"content-type", "application/json"))
    _check_encoding(headers.get(b"content-encoding"))
    declared = _declared_length(headers.get(b"content-length"))
    if declared is not None and declared > limit:
        raise BodyTooLargeError(limit)
    return limit if declared is None else declared


async def _read_limited(request: Request, limit: int) -> bytes:
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


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, at most `limit` bytes, within the body timeout; when the worker is
    stopping, within what is left of its graceful period (then 503, not 408)."""
    extensions = request.scope.get("extensions")
    if extensions and BODY_COMPLETE_EXTENSION in extensions:
        # Already buffered whole (core/protocol.py): reading it cannot wait, so no timer.
        return await _read_limited(request, limit)
    seconds: float = request.app.state.settings.body_timeout
    drain: Drain = request.app.state.drain
    left = drain.seconds_left()
    stopping = left is not None and left < seconds
    try:
        async with asyncio.timeout(left if stopping and left is not None else seconds):
            return await _read_limited(request, limit)
    except TimeoutError:
        if stopping:
            raise OverloadedError("server shutting down; retry on another instance") from None
        raise BodyTimeoutError(seconds) from None


def _duplicate_key_errors(raw: bytes) -> list[dict[str, Any]]:
    """Where a JSON object repeats a key: ("body", key) or ("body", item, key) in a batch."""
    errors: list[dict[str, Any]] = []
    objects = 0

    def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal objects
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                errors.append({"key": key, "object": objects})
            seen.add(key)
        objects += 1
        return dict(pairs)

    document = json.loads(raw, object_pairs_hook=check)
    nested = isinstance(document, list)
    return [
        {
            "loc": ("body", error["object"], error["key"]) if nested else ("body", error["key"]),
            "msg": "Key given more than once in one JSON object",
            "type": "json_duplicate_key",
        }
        for error in errors
    ]


def parse_json(adapter: TypeAdapter[T], raw: bytes, members: int) -> T:
    """Validate `raw` JSON against `adapter`; errors as FastAPI's body errors (422).

    pydantic-core keeps the last of repeated keys without a word. Every valid object has
    exactly `members` keys (extra keys are refused), so a repeat needs more than `members`
    colons per object: only then is the body parsed again to look for one.
    """
    try:
        value = adapter.validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None
    objects = len(value) if isinstance(value, list) else 1
    if raw.count(b":") > members * objects:
        duplicates = _duplicate_key_errors(raw)
        if duplicates:
            raise RequestValidationError(duplicates)
    return value


def json_body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` documenting `schema` as the required JSON body."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
