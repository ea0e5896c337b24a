"""What the gateway accepts, checked before any backend is called.

Every number must be finite (``NaN`` and ``Infinity``, which Python's JSON parser accepts, are
refused here: one such value in a micro-batch would otherwise make the backend refuse every
request batched with it).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiinfra_shared.jsontypes import JsonFloat

#: A finite JSON number (no NaN, no infinities, not a bool or a string).
Finite = JsonFloat
#: A route weight: finite, not negative, bounded (a weight of 1e400 is infinity).
Weight = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]


class PredictIn(BaseModel):
    """One applicant (``features``) or a batch (``instances``) for a classic route."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    features: list[Finite] | None = Field(default=None, min_length=1, max_length=4096)
    instances: list[list[Finite]] | None = Field(default=None, min_length=1, max_length=1024)
    user: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_of(self) -> PredictIn:
        if (self.features is None) == (self.instances is None):
            raise ValueError("give either features (one instance) or instances (a batch)")
        return self


class _PredictBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    user: str | None = Field(default=None, max_length=200)


class PredictOne(_PredictBase):
    """One applicant."""

    features: list[Finite] = Field(min_length=1, max_length=4096)


class PredictBatch(_PredictBase):
    """A batch of applicants."""

    instances: list[list[Finite]] = Field(min_length=1, max_length=1024)


#: The request body as the OpenAPI document states it: exactly one of the two shapes.
PredictBody = PredictOne | PredictBatch


class WeightsIn(BaseModel):
    """New weights for a route's variants."""

    model_config = ConfigDict(extra="forbid")

    variants: dict[str, Weight] = Field(min_length=1, max_length=64)


ERROR_BODY: dict[str, Any] = {
    "description": "An error in OpenAI's shape.",
    "content": {
        "application/json": {
            "example": {
                "error": {
                    "message": "features.0: Input should be a finite number",
                    "type": "invalid_request_error",
                    "param": "features.0",
                    "code": None,
                }
            }
        }
    },
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route's error status codes."""
    return dict.fromkeys(codes, ERROR_BODY)
