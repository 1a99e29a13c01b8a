"""JSON responses serialised by pydantic-core directly.

A route that returns a model makes FastAPI validate it against `response_model` again and
encode it in Python; for a model the route just built, that is pure overhead on the hot
path. Routes keep declaring `response_model`, so the OpenAPI schema is unchanged.
`PayloadResponse` goes one step further for the predictions: plain dicts in the model's JSON
shape, serialised without building a model at all (two `model_construct` calls cost more
than the whole serialisation).
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel
from pydantic_core import to_json


class ModelResponse(Response):
    media_type = "application/json"

    def __init__(
        self, model: BaseModel, status_code: int = 200, exclude_unset: bool = False
    ) -> None:
        super().__init__(
            content=model.model_dump_json(exclude_unset=exclude_unset), status_code=status_code
        )


class PayloadResponse(Response):
    """A payload of dicts, lists, strings and numbers, already in a response model's shape."""

    media_type = "application/json"

    def __init__(self, payload: Any, status_code: int = 200) -> None:
        super().__init__(content=to_json(payload), status_code=status_code)
