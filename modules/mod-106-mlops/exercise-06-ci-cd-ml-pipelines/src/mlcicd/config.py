"""Settings of mlcicd (environment prefix MLCICD_), and the gate thresholds."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop."""

    model_config = settings_config("MLCICD_")

    registry: Path = Field(
        default=Path("mlcicd-registry"),
        description="Folder of the MLflow model registry (a SQLite store and its artifacts).",
    )
    model_name: str = Field(default="loan-default", min_length=1, max_length=100)
    host: str = "127.0.0.1"

    @property
    def tracking_uri(self) -> str:
        """The MLflow store inside the registry folder."""
        return f"sqlite:///{self.registry.resolve() / 'mlflow.db'}"


class DataThresholds(BaseModel):
    """What the data gate accepts."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min_rows: int = Field(default=200, ge=1)
    max_null_fraction: float = Field(default=0.01, ge=0, le=1)
    min_positive_rate: float = Field(default=0.05, ge=0, le=1)
    max_positive_rate: float = Field(default=0.6, ge=0, le=1)
    #: a feature drifted when the KS test rejects at this p-value AND its PSI is above max_psi
    drift_p_value: float = Field(default=0.01, gt=0, lt=1)
    max_psi: float = Field(default=0.2, gt=0)
    max_drifted_features: int = Field(default=0, ge=0)


class ModelThresholds(BaseModel):
    """What the model gate accepts."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min_roc_auc: float = Field(default=0.75, ge=0, le=1)
    min_f1: float = Field(default=0.45, ge=0, le=1)
    #: the candidate may lose at most this much ROC AUC against the production baseline
    max_regression: float = Field(default=0.01, ge=0, le=1)
    min_slice_roc_auc: float = Field(default=0.70, ge=0, le=1)
    #: invariance: changing a feature the label does not depend on moves few predictions
    max_invariance_violations: float = Field(default=0.05, ge=0, le=1)
    invariance_tolerance: float = Field(default=0.10, gt=0, le=1)
    #: directional: more income never raises the default risk (beyond a tolerance)
    min_directional_agreement: float = Field(default=0.95, ge=0, le=1)
    max_latency_p95_ms: float = Field(default=50.0, gt=0)
    max_size_mb: float = Field(default=20.0, gt=0)
