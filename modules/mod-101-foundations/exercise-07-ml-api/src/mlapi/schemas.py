"""Request and response bodies of the API (pydantic: validated, documented in OpenAPI)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: Most rows one batch request may carry.
MAX_BATCH = 256

#: A length in centimetres. Strict: a JSON number only (``true`` or ``"5.1"`` are refused, not
#: coerced to 1.0 and 5.1), finite, in (0, 100].
Measurement = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False, strict=True)]


class Flower(BaseModel):
    """One flower's four measurements, in centimetres."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sepal_length_cm": 5.1,
                    "sepal_width_cm": 3.5,
                    "petal_length_cm": 1.4,
                    "petal_width_cm": 0.2,
                }
            ]
        },
    )

    sepal_length_cm: Measurement
    sepal_width_cm: Measurement
    petal_length_cm: Measurement
    petal_width_cm: Measurement

    def as_row(self) -> list[float]:
        """The measurements in the model's feature order."""
        return [
            self.sepal_length_cm,
            self.sepal_width_cm,
            self.petal_length_cm,
            self.petal_width_cm,
        ]


class Batch(BaseModel):
    """Up to :data:`MAX_BATCH` flowers in one request."""

    model_config = ConfigDict(extra="forbid")

    instances: list[Flower] = Field(min_length=1, max_length=MAX_BATCH)


class Prediction(BaseModel):
    """The predicted species and the probability of each species."""

    label: str
    class_id: int
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    """Predictions in request order, and the version of the model that made them."""

    model_config = ConfigDict(protected_namespaces=())

    model_version: str
    predictions: list[Prediction]


class ModelInfo(BaseModel):
    """What the served model is."""

    model_config = ConfigDict(protected_namespaces=())

    model_version: str
    trained_at: str
    train_accuracy: float
    test_accuracy: float
    features: list[str]
    classes: list[str]


class ReloadResponse(BaseModel):
    """Result of ``POST /v1/model/reload``."""

    model_config = ConfigDict(protected_namespaces=())

    previous_version: str | None
    model_version: str
    changed: bool


class Status(BaseModel):
    """Health and readiness answers."""

    model_config = ConfigDict(protected_namespaces=())

    status: str
    model_version: str | None = None
    reason: str | None = None
