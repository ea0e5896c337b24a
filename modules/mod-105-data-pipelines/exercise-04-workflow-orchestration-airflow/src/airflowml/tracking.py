"""Optional MLflow logging of a registered version (``AIRFLOWML_TRACKING_URI``).

The file registry stays the source of truth for deployment; MLflow gets a run per registered
version (params, validation and test metrics, the model and feature spec as artifacts) so the
pipeline's history shows up next to the rest of a team's experiments.
"""

from __future__ import annotations

from typing import Any


def log_to_mlflow(
    tracking_uri: str,
    model_name: str,
    best: dict[str, Any],
    metadata: dict[str, Any],
    artifacts: list[str],
) -> str:
    """Log one run to ``tracking_uri`` (experiment ``airflowml-<model_name>``).

    Returns:
        The MLflow run id (stored in the version's metadata).
    """
    import mlflow  # the [mlflow] extra: imported only when a tracking URI is configured

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(f"airflowml-{model_name}")
    with mlflow.start_run(run_name=f"{metadata['dag_id']}:{best['name']}") as run:
        mlflow.log_params({k: str(v) for k, v in best["params"].items()})
        mlflow.log_metrics({f"val_{k}": float(v) for k, v in metadata["val"].items()})
        mlflow.log_metrics({f"test_{k}": float(v) for k, v in metadata["test"].items()})
        mlflow.set_tags(
            {
                "dag_id": metadata["dag_id"],
                "airflow_run_id": metadata["run_id"],
                "model": model_name,
            }
        )
        for artifact in artifacts:
            mlflow.log_artifact(artifact)
        return str(run.info.run_id)
