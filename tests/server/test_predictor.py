"""Predictor.predict_one: baskets of one loop turn share a forest walk, answers unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from retail_api.core.config import DEFAULT_MODEL_DIR
from retail_api.core.metrics import Metrics
from retail_api.forest.loader import load_model
from retail_api.predictor import Predictor
from retail_api.schemas import PredictRequest


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
    assert [r.model_dump() for r in shared] == [r.model_dump() for r in alone]
    assert len({r.probability.Low for r in shared}) > 1, "the test needs varied answers"


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
