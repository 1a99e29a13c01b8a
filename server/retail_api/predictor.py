"""Turn validated requests into responses with the loaded model, counting predictions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from retail_api.core.metrics import Metrics
from retail_api.forest.loader import CompiledModel
from retail_api.schemas import ClassProbabilities, PredictRequest, PredictResponse


@dataclass(eq=False)
class Predictor:
    model: CompiledModel
    metrics: Metrics
    # Single baskets waiting for this event-loop turn's shared forest walk.
    _waiting: list[tuple[PredictRequest, asyncio.Future[PredictResponse]]] = field(
        default_factory=list, init=False, repr=False
    )

    async def predict_one(self, basket: PredictRequest) -> PredictResponse:
        """Predict one basket together with the others that arrive in the same loop turn.

        Under load many /predict requests are parsed in one event-loop turn; walking the
        forest once for all of them costs little more than for one (the walk is ~60 numpy
        calls whatever the row count). The first basket of a turn schedules the walk with
        call_soon, so it runs right after the requests already queued in this turn: a lone
        request waits for nothing, it only pays one future.
        """
        future: asyncio.Future[PredictResponse] = asyncio.get_running_loop().create_future()
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

    def predict(self, requests: list[PredictRequest]) -> list[PredictResponse]:
        """One response per request, in input order."""
        model = self.model
        # A validated model keeps its fields in __dict__: a free read-only mapping.
        probabilities = model.predict_proba([request.__dict__ for request in requests])
        classes = model.classes
        responses = []
        for row in probabilities.tolist():
            # First maximum wins, as scikit-learn's predict (argmax over classes_) does.
            best = max(range(len(row)), key=row.__getitem__)
            # model_construct skips re-validating values the loader already checked.
            responses.append(
                PredictResponse.model_construct(
                    prediction=classes[best],
                    probability=ClassProbabilities.model_construct(
                        **dict(zip(classes, row, strict=True))
                    ),
                    confidence=row[best],
                    model_version=model.version,
                )
            )
        self.metrics.count_predictions(response.prediction for response in responses)
        return responses
