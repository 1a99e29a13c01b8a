"""Turn validated requests into responses with the loaded model, counting predictions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TypedDict

from retail_api.core.metrics import Metrics
from retail_api.forest.loader import CompiledModel
from retail_api.schemas import ClassProbabilities, PredictRequest


class Prediction(TypedDict):
    """One answer, in PredictResponse's JSON shape (schemas.py documents it)."""

    prediction: str
    probability: dict[str, float]
    confidence: float
    model_version: str


@dataclass(eq=False)
class Predictor:
    model: CompiledModel
    metrics: Metrics
    # Single baskets waiting for this event-loop turn's shared forest walk.
    _waiting: list[tuple[PredictRequest, asyncio.Future[Prediction]]] = field(
        default_factory=list, init=False, repr=False
    )
    # (class name, probability column) in ClassProbabilities' field order, the schema's order.
    _columns: list[tuple[str, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        classes = self.model.classes
        self._columns = [(name, classes.index(name)) for name in ClassProbabilities.model_fields]

    async def predict_one(self, basket: PredictRequest) -> Prediction:
        """Predict one basket together with the others that arrive in the same loop turn.

        Under load many /predict requests are parsed in one event-loop turn; walking the
        forest once for all of them costs little more than for one (the walk is ~80 numpy
        calls whatever the row count). The first basket of a turn schedules the walk with
        call_soon, so it runs right after the requests already queued in this turn: a lone
        request waits for nothing, it only pays one future.
        """
        future: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self._waiting.append((basket, future))
        if len(self._waiting) == 1:
            future.get_loop().call_soon(self._walk_waiting)
        return await future

    def _walk_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            responses = self.predict([basket for basket, _ in waiting])
        except Exception as exc:  # every waiter gets the error, as a lone call would
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), response in zip(waiting, responses, strict=True):
            if not future.done():  # a cancelled request (client gone) has no one waiting
                future.set_result(response)

    def predict(self, requests: list[PredictRequest]) -> list[Prediction]:
        """One answer per request, in input order."""
        model = self.model
        # A validated model keeps its fields in __dict__: a free read-only mapping.
        probabilities = model.predict_proba([request.__dict__ for request in requests])
        classes, version, columns = model.classes, model.version, self._columns
        answers: list[Prediction] = []
        for row in probabilities.tolist():
            # First maximum wins, as scikit-learn's predict (argmax over classes_) does.
            best = max(range(len(row)), key=row.__getitem__)
            answers.append(
                {
                    "prediction": classes[best],
                    "probability": {name: row[column] for name, column in columns},
                    "confidence": row[best],
                    "model_version": version,
                }
            )
        self.metrics.count_predictions(answer["prediction"] for answer in answers)
        return answers
