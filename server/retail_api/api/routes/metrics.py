"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from retail_api.api.deps import MetricsDep

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get("", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(metrics: MetricsDep) -> Response:
    """Requests and latency by route and status, predictions by class, model and process info
    (summed over all workers when WORKERS > 1)."""
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
