"""Predictor: answers in the response schema's shape; baskets of one loop turn share a forest
walk, answers unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from retail_api.api.responses import PayloadResponse
from retail_api.core.config import DEFAULT_MODEL_DIR
from retail_api.core.metrics import Metrics
from retail_api.forest.loader import load_model
from retail_api.predictor import Predictor
from retail_api.schemas import BatchResponse, PredictRequest, PredictResponse


@pytest.fixture
def predictor() -> Predictor:
    return Predictor(load_model(DEFAULT_MODEL_DIR), Metrics())


def _baskets(basket: dict[str, Any]) -> list[PredictRequest]:
    return [
        PredictRequest.model_validate({**basket, "SPEND": float(spend), "QUANTITY": 1 + spend % 9})
        for spend in range(1, 200, 7)
    ]


def _run(coroutine: Coroutine[Any, Any, list[Any]]) -> list[Any]:
    """On a private loop: asyncio.run leaves the thread with no current loop, which code
    that asks for one later in the same session (Pulumi's mocks) does not survive."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def test_one_walk_per_loop_turn_same_answers(
    predictor: Predictor, basket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    baskets = _baskets(basket)
    alone = [predictor.predict([b])[0] for b in baskets]  # one walk each, the reference
    walks: list[int] = []
    predict = predictor.predict

    def counting(requests: list[PredictRequest]) -> Any:
        walks.append(len(requests))
        return predict(requests)

    monkeypatch.setattr(predictor, "predict", counting)

    async def together() -> list[Any]:
        return await asyncio.gather(*(predictor.predict_one(b) for b in baskets))

    shared = _run(together())
    assert walks == [len(baskets)]
    assert shared == alone
    assert len({r["probability"]["Low"] for r in shared}) > 1, "the test needs varied answers"


def test_a_failed_walk_fails_every_waiter(
    predictor: Predictor, basket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(requests: list[PredictRequest]) -> Any:
        raise RuntimeError("forest exploded")

    monkeypatch.setattr(predictor, "predict", broken)

    async def together() -> list[Any]:
        calls = (predictor.predict_one(b) for b in _baskets(basket)[:3])
        return await asyncio.gather(*calls, return_exceptions=True)

    results = _run(together())
    assert [str(r) for r in results] == ["forest exploded"] * 3


def test_answers_render_as_the_documented_response_models(
    predictor: Predictor, basket: dict[str, Any]
) -> None:
    baskets = _baskets(basket)
    answers = predictor.predict(baskets)
    proba = predictor.model.predict_proba([b.__dict__ for b in baskets])
    for answer, row in zip(answers, proba.tolist(), strict=True):
        body = bytes(PayloadResponse(answer).body)
        model = PredictResponse.model_validate_json(body)
        # Byte for byte what pydantic renders for the model: same keys, order and floats.
        assert body == model.model_dump_json().encode()
        by_class = dict(zip(predictor.model.classes, row, strict=True))
        assert model.probability.model_dump() == by_class
        assert model.confidence == max(row)
        assert model.prediction == max(by_class, key=by_class.__getitem__)
        assert model.model_version == predictor.model.version
    batch = bytes(PayloadResponse({"predictions": answers, "count": len(answers)}).body)
    assert BatchResponse.model_validate_json(batch).count == len(baskets)
