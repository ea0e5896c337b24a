"""Data-quality checks: turn raw record bytes into an :class:`Event` or a rejection reason.

Checks run in a fixed order and the first failure wins, so each bad record gets exactly one
machine-readable reason (the DLQ's ``reason``) and a human detail. Nothing here raises for
bad input: a record that cannot be parsed is data, not an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from featstream.events import EVENT_TYPES, SCHEMA_VERSION, Event

#: Event times outside [2000-01-01, 2100-01-01) are rejected as out of range.
MIN_EVENT_TIME_MS = 946_684_800_000
MAX_EVENT_TIME_MS = 4_102_444_800_000

REASONS: tuple[str, ...] = (
    "invalid_json",
    "not_an_object",
    "schema_version",
    "missing_field",
    "null_value",
    "wrong_type",
    "unknown_event_type",
    "out_of_range",
    "late",
)

_STRING_FIELDS = ("event_id", "user_id", "item_id")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record was not applied: one of :data:`REASONS` and a detail for people."""

    reason: str
    detail: str


def validate(value: bytes | None, *, max_amount: float) -> Event | Rejection:
    """Parse and check one record value.

    Args:
        value: The record value (bytes of JSON), possibly None (a tombstone).
        max_amount: Largest valid purchase amount.

    Returns:
        The event, or the first rule it breaks.
    """
    if value is None:
        return Rejection("invalid_json", "empty record value")
    try:
        # orjson: several times faster than json on small objects (and it refuses NaN and
        # Infinity, which are not JSON)
        raw: Any = orjson.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        return Rejection("invalid_json", f"not JSON: {exc}")
    if not isinstance(raw, dict):
        return Rejection("not_an_object", f"expected a JSON object, got {type(raw).__name__}")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        return Rejection("schema_version", f"schema_version {version!r} is not supported")
    for name in ("event_id", "user_id", "event_type", "item_id", "event_time"):
        if name not in raw:
            return Rejection("missing_field", f"{name} is missing")
        if raw[name] is None:
            return Rejection("null_value", f"{name} is null")
    for name in _STRING_FIELDS:
        if not isinstance(raw[name], str) or not raw[name]:
            return Rejection("wrong_type", f"{name} must be a non-empty string")
    event_type = raw["event_type"]
    if event_type not in EVENT_TYPES:
        return Rejection(
            "unknown_event_type",
            f"event_type {event_type!r} is not one of {', '.join(EVENT_TYPES)}",
        )
    event_time = raw["event_time"]
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        return Rejection("wrong_type", "event_time must be an integer (epoch ms)")
    if not MIN_EVENT_TIME_MS <= event_time < MAX_EVENT_TIME_MS:
        return Rejection("out_of_range", f"event_time {event_time} is not in years 2000-2099")
    amount = raw.get("amount")
    if event_type == "purchase":
        if amount is None:
            return Rejection("null_value", "amount is required on a purchase")
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            return Rejection("wrong_type", f"amount must be a number, got {amount!r}")
        if not (0 < amount <= max_amount) or math.isnan(amount):
            return Rejection("out_of_range", f"amount {amount} is not in (0, {max_amount}]")
        amount = float(amount)
    elif amount is not None:
        return Rejection("out_of_range", f"amount must be null on a {event_type}")
    return Event(
        event_id=raw["event_id"],
        user_id=raw["user_id"],
        event_type=event_type,
        item_id=raw["item_id"],
        amount=amount,
        event_time=event_time,
    )
