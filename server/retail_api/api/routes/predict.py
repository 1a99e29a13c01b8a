"""POST /predict and /predict/batch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from retail_api.api.deps import MetricsDep, ModelDep
from retail_api.model.loader import CompiledModel
from retail_api.schemas import (
    BatchRequest,
    BatchResponse,
    ClassProbabilities,
    PredictRequest,
    PredictResponse,
)

router = APIRouter(prefix="/predict", tags=["predict"])

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"description": "No model is loaded"}}


def _predict(model: CompiledModel, requests: list[PredictRequest]) -> list[PredictResponse]:
    probabilities = model.predict_proba([request.model_dump() for request in requests])
    classes = model.classes
    responses = []
    for row in probabilities.tolist():
        # First maximum wins, as scikit-learn's predict (argmax over classes_) does.
        best = max(range(len(row)), key=row.__getitem__)
        by_class = dict(zip(classes, row, strict=True))
        responses.append(
            PredictResponse(
                prediction=classes[best],  # type: ignore[arg-type]  # loader checked classes
                probability=ClassProbabilities(**by_class),
                confidence=row[best],
                model_version=model.version,
            )
        )
    return responses


# One row costs ~60 µs of numpy, less than a threadpool hop, so it runs on the event loop.
@router.post("", response_model=PredictResponse, responses=_UNAVAILABLE)
async def predict(request: PredictRequest, model: ModelDep, metrics: MetricsDep) -> PredictResponse:
    """Predict the price sensitivity of one basket."""
    (response,) = _predict(model, [request])
    metrics.count_predictions([response.prediction])
    return response


# A full batch takes tens of ms; a plain def runs it in the threadpool, off the event loop.
@router.post("/batch", response_model=BatchResponse, responses=_UNAVAILABLE)
def predict_batch(
    requests: Annotated[BatchRequest, Body()], model: ModelDep, metrics: MetricsDep
) -> BatchResponse:
    """Predict 1-1000 baskets in one call; results keep the input order."""
    responses = _predict(model, requests)
    metrics.count_predictions(response.prediction for response in responses)
    return BatchResponse(predictions=responses, count=len(responses))
