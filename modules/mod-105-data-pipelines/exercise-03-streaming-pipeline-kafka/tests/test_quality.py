from __future__ import annotations

import json
from typing import Any

import pytest
from featstream.events import Event
from featstream.quality import REASONS, Rejection, validate

GOOD: dict[str, Any] = {
    "schema_version": 1,
    "event_id": "e1",
    "user_id": "u1",
    "event_type": "purchase",
    "item_id": "i1",
    "amount": 12.5,
    "event_time": 1_767_225_600_000,
}


def _check(record: Any) -> Event | Rejection:
    return validate(json.dumps(record).encode(), max_amount=1000)


def test_a_valid_purchase_parses() -> None:
    event = _check(GOOD)
    assert event == Event("e1", "u1", "purchase", "i1", 12.5, 1_767_225_600_000)


def test_a_view_needs_no_amount() -> None:
    event = _check(GOOD | {"event_type": "view", "amount": None})
    assert isinstance(event, Event)
    assert event.amount is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"schema_version": 2}, "schema_version"),
        ({"user_id": None}, "null_value"),
        ({"event_time": None}, "null_value"),
        ({"user_id": ""}, "wrong_type"),
        ({"item_id": 5}, "wrong_type"),
        ({"event_type": "teleport"}, "unknown_event_type"),
        ({"event_time": "yesterday"}, "wrong_type"),
        ({"event_time": True}, "wrong_type"),
        ({"event_time": 12}, "out_of_range"),
        ({"amount": -1.0}, "out_of_range"),
        ({"amount": 0}, "out_of_range"),
        ({"amount": 1000.01}, "out_of_range"),
        ({"amount": "12,50"}, "wrong_type"),
        ({"amount": None}, "null_value"),
        ({"event_type": "click"}, "out_of_range"),
    ],
)
def test_each_rule_names_its_reason(change: dict[str, Any], reason: str) -> None:
    result = _check(GOOD | change)
    assert isinstance(result, Rejection)
    assert result.reason == reason
    assert result.reason in REASONS
    assert result.detail


@pytest.mark.parametrize("field", ["event_id", "user_id", "event_type", "item_id", "event_time"])
def test_missing_fields_are_named(field: str) -> None:
    record = dict(GOOD)
    del record[field]
    result = _check(record)
    assert result == Rejection("missing_field", f"{field} is missing")


@pytest.mark.parametrize("value", [b"{not json", b"\xff\xfe", None, b"[1, 2]", b"42"])
def test_garbage_is_rejected_not_raised(value: bytes | None) -> None:
    result = validate(value, max_amount=1000)
    assert isinstance(result, Rejection)
    assert result.reason in {"invalid_json", "not_an_object"}
