"""The whole app (main.create_app) against its own OpenAPI document, with schemathesis.

Hypothesis draws requests from /openapi.json, valid and invalid; each response must not be
a server error and must match what the document says for that status (code, content type,
schema). Examples are bounded so the run stays around half a minute on a shared CPU.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import checks

from retail_api.core.config import DEFAULT_MODEL_DIR, Settings
from retail_api.main import create_app

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
APP = create_app(Settings(model_dir=DEFAULT_MODEL_DIR, log_level="warning"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
SEEN: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _model_loaded() -> Iterator[None]:
    """Run the lifespan once around every case, so predictions are real, not 503s."""
    with TestClient(APP):
        yield
    if SEEN:  # the generated cases reached the model and its validation, not just a 503
        assert SEEN[("/predict", 200)] and SEEN[("/predict/batch", 200)], SEEN
        assert SEEN[("/predict", 422)] and SEEN[("/predict/batch", 422)], SEEN


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_matches_its_openapi_document(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate(checks=CHECKS)
    SEEN[(case.path, response.status_code)] += 1
