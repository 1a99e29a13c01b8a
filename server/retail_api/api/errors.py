"""Validation errors as 422 bodies that name each bad field and the broken rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _field(loc: Sequence[str | int]) -> str:
    """("body", 3, "SPEND") -> "[3].SPEND"; the request body itself is "body"."""
    parts = list(loc[1:]) if loc and loc[0] == "body" else list(loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _json_position(error: Any) -> str | None:
    # For malformed JSON the loc's number is a character offset, not a list index.
    if error.get("type") != "json_invalid":
        return None
    loc = error.get("loc", ())
    return f"body (character {loc[-1]})" if len(loc) > 1 else "body"


def describe_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Keep loc/msg/type and add the field name; drop echoed input and ctx objects."""
    return [
        {
            "loc": list(error.get("loc", ())),
            "field": _json_position(error) or _field(error.get("loc", ())),
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = describe_errors(exc.errors())
    messages = [f"{item['field']}: {item['msg']} (rule: {item['type']})" for item in detail]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": detail, "messages": messages},
    )
