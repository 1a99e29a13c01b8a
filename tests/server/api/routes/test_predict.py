"""POST /predict and /predict/batch: happy paths, every validation rule, no-model 503."""

from __future__ import annotations

import json
import math
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from retail_api.api.body import MAX_SINGLE_BODY_BYTES, parse_json
from retail_api.api.routes import predict as predict_routes
from retail_api.schemas import MAX_QUANTITY, MAX_SPEND_GBP, PredictRequest

CLASSES = {"Low", "Medium", "High"}


def _assert_prediction(body: dict[str, Any]) -> None:
    assert body["prediction"] in CLASSES
    probability = body["probability"]
    assert set(probability) == CLASSES
    assert sum(probability.values()) == pytest.approx(1.0, abs=1e-12)
    assert body["confidence"] == max(probability.values())
    assert probability[body["prediction"]] == body["confidence"]
    assert body["model_version"].startswith("rf-")


def test_predict_returns_contract_shape(client: TestClient, basket: dict[str, Any]) -> None:
    response = client.post("/predict", json=basket)
    assert response.status_code == 200
    _assert_prediction(response.json())


def test_predict_depends_on_input(client: TestClient, basket: dict[str, Any]) -> None:
    cheap = client.post("/predict", json={**basket, "SPEND": 2.0, "QUANTITY": 10}).json()
    dear = client.post("/predict", json={**basket, "SPEND": 900.0, "QUANTITY": 2}).json()
    assert cheap["probability"] != dear["probability"]


def test_unknown_categories_are_valid(client: TestClient, basket: dict[str, Any]) -> None:
    unseen = {**basket, "STORE_REGION": "MARS", "BASKET_TYPE": "NEW", "PROD_CODE_30": "X" * 64}
    response = client.post("/predict", json=unseen)
    assert response.status_code == 200
    _assert_prediction(response.json())


def test_batch_preserves_input_order(client: TestClient, basket: dict[str, Any]) -> None:
    baskets = [
        {**basket, "SPEND": float(spend), "QUANTITY": 1 + spend % 7} for spend in range(1, 400, 13)
    ]
    response = client.post("/predict/batch", json=baskets)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(baskets) == len(body["predictions"])
    singles = [client.post("/predict", json=b).json() for b in baskets]
    assert body["predictions"] == singles
    assert len({json.dumps(p["probability"]) for p in singles}) > 1, "order test needs variety"


def test_batch_accepts_limits(client: TestClient, basket: dict[str, Any]) -> None:
    assert client.post("/predict/batch", json=[basket]).json()["count"] == 1
    assert client.post("/predict/batch", json=[basket] * 1000).json()["count"] == 1000


def _messages(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert [item["field"] for item in body["detail"]]
    return list(body["messages"])


BAD_FIELDS = [
    ("QUANTITY", "3", "QUANTITY", "int_type"),
    ("QUANTITY", True, "QUANTITY", "int_type"),
    ("QUANTITY", 2.5, "QUANTITY", "int_type"),
    ("SPEND", "125.5", "SPEND", "float_type"),
    ("BASKET_TYPE", 7, "BASKET_TYPE", "string_type"),
    ("SPEND", 0, "SPEND", "greater_than"),
    ("SPEND", -4.5, "SPEND", "greater_than"),
    ("QUANTITY", 0, "QUANTITY", "greater_than"),
    ("SPEND", 100_000.01, "SPEND", "less_than_equal"),
    ("QUANTITY", 10_001, "QUANTITY", "less_than_equal"),
    ("STORE_REGION", "", "STORE_REGION", "string_too_short"),
    ("STORE_REGION", "   ", "STORE_REGION", "string_blank"),
    ("BASKET_TYPE", "\t\n", "BASKET_TYPE", "string_blank"),
    ("PROD_CODE_20", " " * 64, "PROD_CODE_20", "string_blank"),
    ("PROD_CODE_30", "\u00a0\u2003", "PROD_CODE_30", "string_blank"),
    ("PROD_CODE_20", "x" * 65, "PROD_CODE_20", "string_too_long"),
    ("BASKET_SIZE", "XL", "BASKET_SIZE", "literal_error"),
    ("STORE_FORMAT", "ls", "STORE_FORMAT", "literal_error"),
]


@pytest.mark.parametrize(("key", "value", "field", "rule"), BAD_FIELDS)
def test_bad_field_names_field_and_rule(
    client: TestClient, basket: dict[str, Any], key: str, value: Any, field: str, rule: str
) -> None:
    messages = _messages(client.post("/predict", json={**basket, key: value}))
    assert len(messages) == 1
    assert messages[0].startswith(f"{field}: ")
    assert f"(rule: {rule})" in messages[0]


def test_blank_string_message(client: TestClient, basket: dict[str, Any]) -> None:
    response = client.post("/predict", json={**basket, "STORE_REGION": "   "})
    assert _messages(response) == [
        "STORE_REGION: String should not be empty or only whitespace (rule: string_blank)"
    ]


@pytest.mark.parametrize("value", [" LONDON", "LONDON ", "NEW  TOWN", " x "])
def test_strings_with_spaces_are_kept_as_sent(
    client: TestClient, basket: dict[str, Any], value: str
) -> None:
    """Only all-blank text is rejected; other values are not stripped or altered."""
    request = PredictRequest.model_validate({**basket, "STORE_REGION": value})
    assert request.model_dump()["STORE_REGION"] == value
    assert client.post("/predict", json={**basket, "STORE_REGION": value}).status_code == 200


def test_missing_and_extra_fields(client: TestClient, basket: dict[str, Any]) -> None:
    body = {k: v for k, v in basket.items() if k != "SPEND"} | {"COLOUR": "red"}
    response = client.post("/predict", json=body)
    messages = _messages(response)
    assert any(m.startswith("SPEND: Field required") for m in messages)
    assert any(m.startswith("COLOUR: Extra inputs are not permitted") for m in messages)
    assert {
        "loc": ["body", "SPEND"],
        "field": "SPEND",
        "msg": "Field required",
        "type": "missing",
    } in response.json()["detail"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_get_the_finite_rule(
    client: TestClient, basket: dict[str, Any], literal: str
) -> None:
    # NaN compares false with everything, so only the finite rule can name it (not gt=0).
    raw = json.dumps(basket).replace("125.5", literal)
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert _messages(response) == ["SPEND: Input should be a finite number (rule: finite_number)"]


@pytest.mark.parametrize("raw", [b'{"SPEND": ', b"\xff\xfe\x00", b"[1, 2", b"", b"null"])
def test_malformed_body_is_422_naming_the_body(client: TestClient, raw: bytes) -> None:
    # 422, not 400: the OpenAPI document promises 422 for every body fault.
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert [m.split(":")[0] for m in _messages(response)] == ["body"]


def test_malformed_json_points_at_body(client: TestClient) -> None:
    response = client.post(
        "/predict", content=b'{"SPEND": ', headers={"content-type": "application/json"}
    )
    assert _messages(response) == [
        "body: Invalid JSON: EOF while parsing a value at line 1 column 10 (rule: json_invalid)"
    ]
    batch = client.post(
        "/predict/batch", content=b'[{"SPEND": ', headers={"content-type": "application/json"}
    )
    # Both routes read bodies the same way (api/body.py): same fault, same words.
    assert _messages(batch) == [
        "body: Invalid JSON: EOF while parsing a value at line 1 column 11 (rule: json_invalid)"
    ]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_predict_requires_a_json_content_type(
    client: TestClient, basket: dict[str, Any], content_type: str
) -> None:
    response = client.post(
        "/predict", content=json.dumps(basket), headers={"content-type": content_type}
    )
    assert response.status_code == 422
    assert _messages(response) == [
        f"body: Content-Type must be application/json, got {content_type} (rule: content_type)"
    ]


def test_predict_body_is_documented_in_openapi(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PredictRequest"}


@pytest.mark.parametrize("number", ["4807.0", "4.807e3", "1E1"])
def test_integer_accepts_whole_numbers_written_as_floats(
    client: TestClient, basket: dict[str, Any], number: str
) -> None:
    """JSON Schema's `integer` is any number with a zero fraction (4807.0 is one)."""
    raw = json.dumps(basket).replace('"QUANTITY": 3', f'"QUANTITY": {number}')
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


def test_error_bodies_are_capped(client: TestClient) -> None:
    """500 junk items make 4,500 errors: the body keeps the first 20 and the count."""
    response = client.post("/predict/batch", json=[{"x": i} for i in range(500)])
    body = response.json()
    assert response.status_code == 422
    assert len(body["detail"]) == len(body["messages"]) == 20
    assert body["error_count"] == 500 * 9  # 8 missing fields + 1 extra per item
    assert len(response.content) < 5000


def test_batch_size_limits(client: TestClient, basket: dict[str, Any]) -> None:
    assert _messages(client.post("/predict/batch", json=[]))[0].endswith("(rule: too_short)")
    over = _messages(client.post("/predict/batch", json=[basket] * 1001))
    assert over[0].startswith("body: List should have at most 1000 items")


def test_batch_errors_name_the_item(client: TestClient, basket: dict[str, Any]) -> None:
    items = [basket, {**basket, "SPEND": -1}, basket, {**basket, "EXTRA": 1}]
    messages = _messages(client.post("/predict/batch", json=items))
    assert [m.split(":")[0] for m in messages] == ["[1].SPEND", "[3].EXTRA"]


def test_batch_body_must_be_a_list(client: TestClient, basket: dict[str, Any]) -> None:
    assert _messages(client.post("/predict/batch", json=basket))[0].startswith("body: ")


def test_predict_without_model_is_503(no_model_client: TestClient, basket: dict[str, Any]) -> None:
    assert no_model_client.post("/predict", json=basket).status_code == 503
    assert no_model_client.post("/predict/batch", json=[basket]).status_code == 503


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=5,
)


LABEL_FIELDS = {"BASKET_TYPE", "STORE_REGION", "PROD_CODE_20", "PROD_CODE_30"}
CHOICES = {"BASKET_SIZE": {"S", "M", "L"}, "STORE_FORMAT": {"SS", "MS", "LS", "XLS"}}


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _value_is_valid(field: str, value: Any) -> bool:
    """The contract (docs/api.md), written out by hand rather than asked of the schema."""
    if field in CHOICES:
        return type(value) is str and value in CHOICES[field]
    if field in LABEL_FIELDS:
        return type(value) is str and 1 <= len(value) <= 64 and not value.isspace()
    if field == "SPEND":  # an int is a number to JSON; booleans, NaN and Infinity are not
        return _is_number(value) and 0 < value <= MAX_SPEND_GBP
    if field == "QUANTITY":  # 4807.0 counts as 4807; 2.5 does not
        whole = type(value) is int or (_is_number(value) and float(value).is_integer())
        return whole and 0 < value <= MAX_QUANTITY
    return False  # any other key: extra fields are refused


def test_arbitrary_field_values_get_the_right_status(
    client: TestClient, basket: dict[str, Any]
) -> None:
    @settings(max_examples=150, deadline=None)
    @given(st.dictionaries(st.sampled_from([*basket, "OTHER"]), JSON_VALUES, max_size=4))
    # Valid overrides are rare among random ones, so some are always tried.
    @example({"SPEND": 1, "QUANTITY": 4807.0, "BASKET_SIZE": "L", "STORE_REGION": " x "})
    @example({"SPEND": 100_000.0, "QUANTITY": 10_000, "PROD_CODE_30": "é" * 64})
    def check(overrides: dict[str, Any]) -> None:
        raw = json.dumps({**basket, **overrides})  # may contain NaN/Infinity literals
        response = client.post(
            "/predict", content=raw, headers={"content-type": "application/json"}
        )
        bad = {field for field, value in overrides.items() if not _value_is_valid(field, value)}
        if len(raw.encode()) > MAX_SINGLE_BODY_BYTES:
            assert response.status_code == 413, response.text
        elif bad:
            assert response.status_code == 422, (overrides, response.text)
            assert {m.split(":")[0] for m in response.json()["messages"]} == bad
        else:
            assert response.status_code == 200, (overrides, response.text)
            _assert_prediction(response.json())

    check()


def test_batch_work_runs_off_the_event_loop(
    client: TestClient, basket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is parsed (and predicted) in a worker thread; a single basket on the loop."""
    threads: list[int] = []

    def spy(adapter: Any, raw: bytes, members: int) -> Any:
        threads.append(threading.get_ident())
        return parse_json(adapter, raw, members)

    monkeypatch.setattr(predict_routes, "parse_json", spy)
    assert client.post("/predict", json=basket).status_code == 200
    assert client.post("/predict", json=basket).status_code == 200
    assert client.post("/predict/batch", json=[basket] * 3).status_code == 200
    loop, again, batch = threads
    assert loop == again != batch
