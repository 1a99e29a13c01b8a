"""The app's lifespan around serving: the collector's settings while it serves, and after."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from retail_api.core.config import DEFAULT_MODEL_DIR, Settings
from retail_api.main import GC_YOUNG_THRESHOLD, create_app


def test_serving_freezes_the_start_up_heap_and_shutdown_restores_the_collector() -> None:
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    with TestClient(create_app(Settings(model_dir=DEFAULT_MODEL_DIR))) as client:
        assert client.get("/ready").status_code == 200  # the model was loaded first
        assert gc.get_freeze_count() > frozen
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *threshold[1:])
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0
