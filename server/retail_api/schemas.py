"""Request and response bodies; input and output never share a model."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from retail_api.forest.contract import CLASSES

MAX_BATCH = 1000
MAX_SPEND_GBP = 100_000.0
MAX_QUANTITY = 10_000
# The contract's own example: shown in /docs, and reused by tests and benchmarks.
EXAMPLE_BASKET: dict[str, Any] = {
    "BASKET_SIZE": "M",
    "BASKET_TYPE": "MIXED",
    "STORE_REGION": "LONDON",
    "STORE_FORMAT": "LS",
    "SPEND": 125.5,
    "QUANTITY": 3,
    "PROD_CODE_20": "FOOD",
    "PROD_CODE_30": "FRESH",
}


# "Not blank": at least one character outside Python's whitespace (str.isspace). Spelt out
# with \u escapes instead of \S, whose meaning differs between JSON Schema's ECMA-262
# regexes (\ufeff is whitespace, \u001c-\u001f are not) and Python's: the OpenAPI
# document and the validator then use one rule, character for character (a test checks
# every code point); the validator calls isspace, the cheaper spelling of the same set.
NOT_BLANK_PATTERN = (
    r"[^\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
    r"\u3000]"
)


def _not_blank(value: str) -> str:
    """Reject whitespace-only text as empty; valid values pass through unchanged."""
    if value.isspace():
        raise PydanticCustomError("string_blank", "String should not be empty or only whitespace")
    return value


def _whole_number(value: object) -> object:
    """4807.0 is an integer to JSON Schema; pass it on as 4807. 2.5, "3" and true stay as
    they are, so strict mode still refuses them."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# The pattern documents the rule in OpenAPI; _not_blank enforces it with a clear error.
Label = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
    AfterValidator(_not_blank),
]
PriceSensitivity = Literal["Low", "Medium", "High"]
assert sorted(CLASSES) == sorted(get_args(PriceSensitivity)), "schema and model contract drifted"


class PredictRequest(BaseModel):
    """One basket. Unseen category values are valid and use the model's unknown bucket."""

    # strict: no silent coercion of "3" or true into numbers, or 3 into a string.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [EXAMPLE_BASKET]},
    )

    BASKET_SIZE: Literal["S", "M", "L"]
    BASKET_TYPE: Label
    STORE_REGION: Label
    STORE_FORMAT: Literal["SS", "MS", "LS", "XLS"]
    SPEND: float = Field(
        gt=0, le=MAX_SPEND_GBP, allow_inf_nan=False, description="Basket spend in GBP"
    )
    QUANTITY: Annotated[int, BeforeValidator(_whole_number)] = Field(
        gt=0, le=MAX_QUANTITY, description="Number of items (4807.0 counts as 4807)"
    )
    PROD_CODE_20: Label
    PROD_CODE_30: Label


BatchRequest = Annotated[list[PredictRequest], Field(min_length=1, max_length=MAX_BATCH)]


class ErrorDetail(BaseModel):
    loc: list[str | int]
    field: str = Field(description='The bad field: "SPEND", "[3].SPEND", or "body"')
    msg: str
    type: str = Field(description="The rule broken (pydantic's error type)")


class ValidationErrorResponse(BaseModel):
    """422: the first 20 errors, one line per error in `messages`, and how many there were."""

    detail: list[ErrorDetail]
    messages: list[str]
    error_count: int


class ErrorResponse(BaseModel):
    detail: str


class ClassProbabilities(BaseModel):
    Low: float
    Medium: float
    High: float


class PredictResponse(BaseModel):
    prediction: PriceSensitivity
    probability: ClassProbabilities
    confidence: float = Field(description="The largest of the three probabilities")
    model_version: str


class BatchResponse(BaseModel):
    predictions: list[PredictResponse]
    count: int


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    model_loaded: bool
    model_version: str | None
    detail: str | None = None


class LiveResponse(BaseModel):
    status: Literal["alive"]


class FeatureInfo(BaseModel):
    name: str
    kind: Literal["categorical", "numeric"]
    categories: list[str] | None = None


class ModelInfoResponse(BaseModel):
    """Everything is read from the loaded artifact; some values appear under two names."""

    version: str = Field(description="The model version (same as model_version)")
    model_version: str
    algorithm: str
    hyperparameters: dict[str, int | float | str | None]
    size: dict[str, int] = Field(
        description="n_trees, n_nodes, n_leaves, max_depth, arrays_bytes (in memory) and "
        "artifact_bytes (model.json + forest.npz on disk)"
    )
    feature_names: list[str] = Field(description="The input fields, in the model's column order")
    features: list[FeatureInfo]
    classes: list[str]
    trained_at: str | None = Field(
        description="When the model was trained (ISO 8601), if the artifact records it"
    )
    training_data: dict[str, object] = Field(
        description="The data the model was trained on (same as training.data)"
    )
    metrics: dict[str, float] = Field(description="Holdout metrics: accuracy and macro-F1")
    training: dict[str, object]
