"""Alertmanager's webhook payload (format version 4), modelled strictly.

What Alertmanager POSTs to a ``webhook_configs`` receiver: a group of alerts with their labels,
annotations and times. Both receivers in this repo (108-01's store, 009-05's incident service)
read it through these models, so a malformed payload gets the same 422 with a reason:
an alert without ``alertname``, a time without a zone or given as a number, an unknown status.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator


def _rfc3339_only(value: Any) -> Any:
    # pydantic would read a number as Unix seconds; the schema says an RFC 3339 string
    if not isinstance(value, str | datetime):
        raise ValueError("expected an RFC 3339 time string such as 2026-12-05T10:00:00Z")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339_only)]


def fingerprint_of(labels: dict[str, str]) -> str:
    """A stable identity for an alert from its labels (when the sender gave none).

    Alertmanager's own fingerprint is a hash of the sorted label set too; this one is SHA-256
    truncated to 16 hex digits.
    """
    canonical = "\x00".join(f"{k}\x01{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class WebhookAlert(BaseModel):
    """One alert of an Alertmanager webhook."""

    model_config = ConfigDict(extra="allow")
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(
        min_length=1,
        # what the validator below enforces, said in the schema too
        json_schema_extra={
            "required": ["alertname"],
            "properties": {"alertname": {"type": "string", "minLength": 1, "maxLength": 2000}},
            "propertyNames": {"maxLength": 200},
            "additionalProperties": {"type": "string", "maxLength": 2000},
        },
    )
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: Timestamp  # noqa: N815 (Alertmanager's field name)
    endsAt: Timestamp | None = None  # noqa: N815
    generatorURL: str = Field(default="", max_length=2000)  # noqa: N815
    fingerprint: str = Field(default="", max_length=64)

    @field_validator("labels")
    @classmethod
    def _alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("an alert needs an 'alertname' label")
        if any(len(k) > 200 or len(v) > 2000 for k, v in labels.items()):
            raise ValueError("label names are at most 200 and values 2000 characters")
        return labels

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps need a timezone (RFC 3339, e.g. 2026-12-05T10:00:00Z)")
        return value

    def identity(self) -> str:
        """The sender's fingerprint, or one computed from the labels."""
        return self.fingerprint or fingerprint_of(self.labels)


class AlertmanagerWebhook(BaseModel):
    """The body Alertmanager POSTs to a webhook receiver (version 4)."""

    model_config = ConfigDict(extra="allow")
    version: Literal["4"]
    groupKey: str = Field(max_length=4000)  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=200)
    alerts: list[WebhookAlert] = Field(min_length=1, max_length=5000)
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = Field(default="", max_length=2000)  # noqa: N815


class WebhookEnvelope(BaseModel):
    """The webhook checked in two stages, so one bad alert never costs the good ones.

    The envelope (version, group key, the list itself) is checked as a whole; each alert on
    its own (:meth:`split`). A receiver stores the valid alerts and answers 422 naming the
    invalid ones: Alertmanager does not retry a 4xx, so refusing the whole payload for one bad
    alert would lose the rest. The OpenAPI schema still describes every alert in full.
    """

    model_config = ConfigDict(extra="allow")
    version: Literal["4"]
    groupKey: str = Field(max_length=4000)  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=200)
    alerts: list[Any] = Field(
        min_length=1, max_length=5000, json_schema_extra={"items": WebhookAlert.model_json_schema()}
    )
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = Field(default="", max_length=2000)  # noqa: N815

    def split(self) -> tuple[AlertmanagerWebhook | None, list[dict[str, Any]]]:
        """The webhook of the valid alerts (None if there is none) and the errors of the rest,
        in FastAPI's 422 shape (``loc`` starts with ``body, alerts, index``)."""
        valid: list[WebhookAlert] = []
        errors: list[dict[str, Any]] = []
        for index, raw in enumerate(self.alerts):
            try:
                valid.append(WebhookAlert.model_validate(raw))
            except ValidationError as exc:
                errors += [
                    {
                        "loc": ["body", "alerts", index, *e["loc"]],
                        "msg": e["msg"],
                        "type": e["type"],
                    }
                    for e in exc.errors()
                ]
        if not valid:
            return None, errors
        webhook = AlertmanagerWebhook(
            version=self.version,
            groupKey=self.groupKey,
            status=self.status,
            receiver=self.receiver,
            alerts=valid,
            groupLabels=self.groupLabels,
            commonLabels=self.commonLabels,
            externalURL=self.externalURL,
        )
        return webhook, errors
