"""Settings of e2epipe (environment prefix E2EPIPE_) and the pipeline's parameters file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aiinfra_shared.cliapp import validation_message
from aiinfra_shared.config import AiinfraSettings, settings_config
from e2epipe.errors import E2epipeError

ModelName = Literal["logistic_regression", "random_forest", "gradient_boosting"]


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop."""

    model_config = settings_config("E2EPIPE_")

    workdir: Path = Path("e2epipe-work")
    model_name: str = Field(default="churn-classifier", pattern=r"^[A-Za-z0-9][\w.-]{0,63}$")
    host: str = "127.0.0.1"
    port: int = Field(default=8070, ge=1, le=65535)
    model_version: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,8}$",
        description="serve this registry version instead of the champion (a blue/green slot)",
    )

    @property
    def tracking_uri(self) -> str:
        """MLflow on a local SQLite store inside the work folder (no server)."""
        return f"sqlite:///{(self.workdir / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        """Where MLflow keeps run artifacts and model files."""
        return (self.workdir / "artifacts").resolve()


class FeatureParams(BaseModel):
    """The feature-engineering stage (all sklearn transformers)."""

    model_config = ConfigDict(extra="forbid")

    polynomial_degree: int = Field(default=2, ge=1, le=3)
    interaction_only: bool = False
    select_k: int = Field(default=20, ge=0, description="SelectKBest k (0: keep all)")
    pca_components: int = Field(default=0, ge=0, description="PCA after selection (0: off)")


class Thresholds(BaseModel):
    """The production-readiness checklist's limits."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min_roc_auc: float = Field(default=0.75, ge=0, le=1)
    min_f1: float = Field(default=0.5, ge=0, le=1)
    min_balanced_accuracy: float = Field(default=0.7, ge=0, le=1)
    max_cv_holdout_gap: float = Field(default=0.05, ge=0, le=1)
    max_p95_latency_ms: float = Field(default=50, gt=0)
    max_model_mb: float = Field(default=50, gt=0)


class Params(BaseModel):
    """``params.yaml``: everything that changes what the pipeline produces."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    seed: int = Field(default=42, ge=0)
    test_size: float = Field(default=0.2, gt=0.05, lt=0.5)
    cv_folds: int = Field(default=3, ge=2, le=10)
    max_reject_fraction: float = Field(default=0.05, ge=0, le=1)
    models: list[ModelName] = Field(
        default=["logistic_regression", "random_forest", "gradient_boosting"], min_length=1
    )
    quick: bool = Field(default=False, description="one point per search grid (tests, demos)")
    features: FeatureParams = FeatureParams()
    thresholds: Thresholds = Thresholds()


def load_params(path: Path | None) -> Params:
    """Read a params YAML file (None: the defaults).

    Raises:
        E2epipeError: the file is missing, not YAML, or a value has the wrong type.
    """
    if path is None:
        return Params()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise E2epipeError(f"{path}: no such params file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise E2epipeError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise E2epipeError(f"{path}: expected a mapping of parameters, got {type(data).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise E2epipeError(f"{path}: {validation_message(exc)}") from None
