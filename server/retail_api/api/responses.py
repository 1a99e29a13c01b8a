"""JSON responses serialised by pydantic-core directly.

A route that returns a model makes FastAPI validate it against `response_model` again and
encode it in Python; for a model the route just built, that is pure overhead on the hot
path. Routes keep declaring `response_model`, so the OpenAPI schema is unchanged.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


class ModelResponse(Response):
    media_type = "application/json"

    def __init__(
        self, model: BaseModel, status_code: int = 200, exclude_unset: bool = False
    ) -> None:
        super().__init__(
            content=model.model_dump_json(exclude_unset=exclude_unset), status_code=status_code
        )
