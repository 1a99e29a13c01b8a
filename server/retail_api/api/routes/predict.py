"""POST /predict and /predict/batch: same body reader, same errors, same statuses."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from pydantic import TypeAdapter

from retail_api.api.body import (
    MAX_SINGLE_BODY_BYTES,
    ClientGoneError,
    check_head,
    json_body_schema,
    parse_json,
    read_body,
)
from retail_api.api.deps import predictor_of
from retail_api.api.responses import PayloadResponse
from retail_api.core.admission import ADMITTED_EXTENSION, Admission, BatchLane
from retail_api.predictor import Predictor
from retail_api.schemas import (
    MAX_BATCH,
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    PredictRequest,
    PredictResponse,
    ValidationErrorResponse,
)

router = APIRouter(prefix="/predict", tags=["predict"])

_BASKET = TypeAdapter(PredictRequest)
_BATCH: TypeAdapter[list[PredictRequest]] = TypeAdapter(BatchRequest)
_BASKET_REF = {"$ref": "#/components/schemas/PredictRequest"}
# Keys of a valid basket: a body with more colons per basket may repeat one (api/body.py).
_MEMBERS = len(PredictRequest.model_fields)
# Every status these routes send. 499 (client left) is logged and counted, never sent.
_RESPONSES: dict[int | str, dict[str, Any]] = {
    408: {"model": ErrorResponse, "description": "The body did not arrive in time"},
    413: {"model": ErrorResponse, "description": "The body is over the size limit"},
    415: {"model": ErrorResponse, "description": "The body is compressed (Content-Encoding)"},
    422: {
        "model": ValidationErrorResponse,
        "description": "Wrong Content-Type, malformed JSON or a field breaking a rule",
    },
    503: {
        "model": ErrorResponse,
        "description": "No model is loaded, the worker is at its bound on in-flight work, "
        "or it is stopping; `Retry-After` says when to try again",
    },
}


# One row costs ~40 µs of numpy, less than a thread hop: it runs on the event loop, walked
# together with the other baskets of the same loop turn (Predictor.predict_one).
@router.post(
    "",
    response_model=PredictResponse,
    responses=_RESPONSES,
    openapi_extra=json_body_schema(_BASKET_REF),
)
async def predict(request: Request) -> PayloadResponse:
    """Predict the price sensitivity of one basket."""
    predictor = predictor_of(request)
    size = _unreserved(request, check_head(request, MAX_SINGLE_BODY_BYTES))
    admission: Admission = request.app.state.admission
    with admission.ticket(size):
        raw = await read_body(request, MAX_SINGLE_BODY_BYTES)
        return PayloadResponse(await predictor.predict_one(parse_json(_BASKET, raw, _MEMBERS)))


def _unreserved(request: Request, size: int) -> int:
    """The body bytes this route must still reserve: none when the connection layer did."""
    extensions = request.scope.get("extensions")
    return 0 if extensions and ADMITTED_EXTENSION in extensions else size


def _predict_batch(predictor: Predictor, raw: bytes) -> PayloadResponse:
    """The answers in BatchResponse's JSON shape, serialised here in the worker thread too."""
    predictions = predictor.predict(parse_json(_BATCH, raw, _MEMBERS))
    return PayloadResponse({"predictions": predictions, "count": len(predictions)})


# A full batch parses and predicts in tens of ms: a worker thread does it, so /health/live
# keeps answering while it runs. The app's batch lane (main.py) caps how many run at once;
# admission (core/admission.py) caps how many are held at all.
@router.post(
    "/batch",
    response_model=BatchResponse,
    responses=_RESPONSES,
    openapi_extra=json_body_schema(
        {"type": "array", "items": _BASKET_REF, "minItems": 1, "maxItems": MAX_BATCH}
    ),
)
async def predict_batch(request: Request) -> PayloadResponse:
    """Predict 1-1000 baskets in one call; results keep the input order."""
    predictor = predictor_of(request)
    state = request.app.state
    limit: int = state.settings.max_body_bytes
    size = _unreserved(request, check_head(request, limit))
    admission: Admission = state.admission
    lane: BatchLane = state.batch_lane
    with admission.ticket(size, batch=True):
        raw = await read_body(request, limit)
        async with lane.turn():
            # An answer nobody will read is not worth a turn's CPU.
            if await request.is_disconnected():
                raise ClientGoneError
            return await anyio.to_thread.run_sync(_predict_batch, predictor, raw)
