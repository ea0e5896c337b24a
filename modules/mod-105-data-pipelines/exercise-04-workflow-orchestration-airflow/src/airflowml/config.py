"""Settings of airflowml: ``AIRFLOWML_*`` environment variables or a ``.env`` file.

The DAGs' tasks read these at run time (they run wherever Airflow runs them: in-process under
``dag.test()``, in a LocalExecutor worker, in a KubernetesExecutor pod), so every path comes
from the environment and nothing is baked into a DAG file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from aiinfra_shared.config import AiinfraSettings, settings_config


def _default_home() -> Path:
    return Path.home() / ".cache" / "aiinfra" / "airflowml"


class AirflowmlSettings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        home: Everything this exercise writes: ``airflow/`` (the AIRFLOW_HOME: SQLite metadata
            DB, task logs), ``data/`` (per-run files, the batch inbox and predictions),
            ``models/`` (the versioned model registry) and ``alerts.jsonl``.
        tracking_uri: When set, ``register`` also logs the run to this MLflow server.
        alert_webhook: When set, failure and deadline alerts are also POSTed here as JSON.
        model_name: The registered model the CLI shows (the DAGs take it as a Param).
        sensor_poke_s: How often ``batch_inference`` looks for a new file (read when the DAG
            file is parsed, like every operator argument).
        sensor_timeout_s: How long it waits before the sensor fails the run.
    """

    model_config = settings_config("AIRFLOWML_")

    home: Path = Field(default_factory=_default_home)
    tracking_uri: str | None = None
    alert_webhook: str | None = None
    model_name: str = Field(default="churn", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    sensor_poke_s: float = Field(default=10.0, gt=0)
    sensor_timeout_s: float = Field(default=1800.0, gt=0)

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def inbox(self) -> Path:
        """Where batch files land for ``batch_inference``'s sensor."""
        return self.data_dir / "inbox"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def predictions_dir(self) -> Path:
        return self.data_dir / "predictions"

    @property
    def quality_dir(self) -> Path:
        """Reports of ``data_quality_monitor`` and the validated snapshot it publishes."""
        return self.data_dir / "quality"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def alert_log(self) -> Path:
        return self.home / "alerts.jsonl"
