"""Settings of exptrack: ``EXPTRACK_*`` environment variables or a ``.env`` file.

The server address is the one variable with mlflow's own name, ``MLFLOW_TRACKING_URI``, so
the same shell works for this package, the mlflow CLI and a notebook.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class ExptrackSettings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        tracking_uri: The MLflow tracking server (``MLFLOW_TRACKING_URI``). There is no local
            fallback on purpose: this exercise is about a server. Start one with
            ``aiinfra service mlflow``, or let ``exptrack demo`` start its own.
        experiment: Experiment the runs go to.
        model_name: Registered model the promotions act on.
        dataset: ``breast_cancer`` (shipped inside scikit-learn) or ``synthetic``.
        seed: Seed of the data split and of every model.
        metric: Validation metric that ranks runs (``val_f1``, ``val_accuracy``, ...).
        min_accuracy: Gate: the challenger's held-out accuracy must reach this.
        min_f1: Gate: the challenger's held-out F1 must reach this.
        tolerance: Gate: how far below the champion's held-out F1 the challenger may be.
    """

    model_config = settings_config("EXPTRACK_")

    tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("tracking_uri", "MLFLOW_TRACKING_URI")
    )
    experiment: str = Field(default="exptrack-demo", min_length=1, max_length=200)
    model_name: str = Field(default="tumor-classifier", min_length=1, max_length=200)
    dataset: str = "breast_cancer"
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    metric: str = "val_f1"
    min_accuracy: float = Field(default=0.9, ge=0, le=1)
    min_f1: float = Field(default=0.9, ge=0, le=1)
    tolerance: float = Field(default=0.0, ge=0, le=1)
