"""Turn validated requests into responses with the loaded model, counting predictions."""

from __future__ import annotations

from dataclasses import dataclass

from retail_api.core.metrics import Metrics
from retail_api.forest.loader import CompiledModel
from retail_api.schemas import ClassProbabilities, PredictRequest, PredictResponse


@dataclass(frozen=True, eq=False)
class Predictor:
    model: CompiledModel
    metrics: Metrics

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
