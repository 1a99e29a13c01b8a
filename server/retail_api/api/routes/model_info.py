"""GET /model/info: everything here is read from the artifact's metadata."""

from __future__ import annotations

from fastapi import APIRouter

from retail_api.api.deps import ModelDep
from retail_api.schemas import FeatureInfo, ModelInfoResponse

router = APIRouter(prefix="/model", tags=["model"])


@router.get(
    "/info",
    response_model=ModelInfoResponse,
    responses={503: {"description": "No model is loaded"}},
)
async def model_info(model: ModelDep) -> ModelInfoResponse:
    """Version, algorithm, size, features, classes, training data and holdout metrics."""
    meta = model.metadata
    trained_at = meta.training.get("trained_at")
    data = meta.training.get("data")
    return ModelInfoResponse(
        version=meta.model_version,
        model_version=meta.model_version,
        algorithm=meta.algorithm,
        hyperparameters=meta.hyperparameters,
        size=meta.size.model_dump() | {"artifact_bytes": model.artifact_bytes},
        feature_names=[f.name for f in meta.features],
        features=[
            FeatureInfo(
                name=f.name,
                kind=f.kind,
                categories=f.categories if f.kind == "categorical" else None,
            )
            for f in meta.features
        ],
        classes=meta.classes,
        trained_at=trained_at if isinstance(trained_at, str) else None,
        training_data=data if isinstance(data, dict) else {},
        metrics=meta.metrics,
        training=meta.training,
    )
