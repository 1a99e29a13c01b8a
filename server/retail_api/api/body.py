"""Request bodies parsed and validated by pydantic-core in one step.

FastAPI's declared bodies go through `json.loads` and then a Python-side validation; on the
single-row /predict path that is ~20 µs of a ~170 µs request. Routes using this still
document their body (`openapi_extra`) and fail exactly like declared bodies: a
RequestValidationError with locations under "body", rendered by the app's 422 handler.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

_JSON_TYPES = ("application/json",)


async def parse_json_body(request: Request, model: type[Model]) -> Model:
    content_type = request.headers.get("content-type", "application/json")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _JSON_TYPES and not media_type.endswith("+json"):
        raise RequestValidationError(
            [
                {
                    "loc": ("body",),
                    "msg": f"Content-Type must be application/json, got {media_type or 'none'}",
                    "type": "content_type",
                }
            ]
        )
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


def json_body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting `model` as the required JSON body."""
    reference = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }
