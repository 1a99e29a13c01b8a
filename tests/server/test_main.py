"""The whole app (main.create_app) against its own OpenAPI document, with schemathesis.

Both generation modes, as `schemathesis run --mode all`: positive cases (valid by the
document) must be accepted, negative ones (each breaking one rule of it) refused with a 4xx;
and every response must match what the document says for its status (code, content type,
headers, schema) and never be a server error. Every check schemathesis has is on, so any
failure class fails the test. Examples are bounded so the run stays within seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.generation import GenerationMode

from retail_api.core.config import DEFAULT_MODEL_DIR, Settings
from retail_api.main import create_app

APP = create_app(Settings(model_dir=DEFAULT_MODEL_DIR, log_level="warning"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
SEEN: Counter[tuple[str, str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _model_loaded() -> Iterator[None]:
    """Run the lifespan once around every case, so predictions are real, not 503s."""
    with TestClient(APP):
        yield
    if SEEN:  # the generated cases reached the model and its validation, not just a 503
        for route in ("/predict", "/predict/batch"):
            assert SEEN[(route, "positive", 200)], SEEN
            assert SEEN[(route, "negative", 422)], SEEN


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_matches_its_openapi_document(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate()  # every registered check
    mode = case.meta.generation.mode.value if case.meta is not None else "explicit"
    SEEN[(case.path, mode, response.status_code)] += 1
