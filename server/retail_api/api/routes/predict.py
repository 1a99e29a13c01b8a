"""POST /predict and /predict/batch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from retail_api.api.body import json_body_schema, parse_json_body
from retail_api.api.deps import PredictorDep
from retail_api.api.responses import ModelResponse
from retail_api.schemas import BatchRequest, BatchResponse, PredictRequest, PredictResponse

router = APIRouter(prefix="/predict", tags=["predict"])

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"description": "No model is loaded"}}


# One row costs ~60 µs of numpy, less than a threadpool hop, so it runs on the event loop,
# and its body is parsed by pydantic-core directly (see api/body.py): the hot path.
@router.post(
    "",
    response_model=PredictResponse,
    responses=_UNAVAILABLE,
    openapi_extra=json_body_schema(PredictRequest),
)
async def predict(request: Request, predictor: PredictorDep) -> ModelResponse:
    """Predict the price sensitivity of one basket."""
    basket = await parse_json_body(request, PredictRequest)
    (response,) = predictor.predict([basket])
    return ModelResponse(response)


# A full batch takes tens of ms; a plain def runs it in the threadpool, off the event loop.
@router.post("/batch", response_model=BatchResponse, responses=_UNAVAILABLE)
def predict_batch(
    requests: Annotated[BatchRequest, Body()], predictor: PredictorDep
) -> ModelResponse:
    """Predict 1-1000 baskets in one call; results keep the input order."""
    responses = predictor.predict(requests)
    return ModelResponse(BatchResponse(predictions=responses, count=len(responses)))
