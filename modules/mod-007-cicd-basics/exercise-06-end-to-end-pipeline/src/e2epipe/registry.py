"""The model registry: MLflow on a local SQLite store (``<workdir>/mlflow.db``), artifacts in
``<workdir>/artifacts``. No server: the same client API talks to a remote ``mlflow server``
when ``MLFLOW_TRACKING_URI`` points at one in production.

Every run registers a new version of the model; only a version whose readiness checklist
passed gets the ``champion`` alias, which is what the server loads.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2epipe.config import Params, Settings
from e2epipe.errors import E2epipeError

logger = logging.getLogger(__name__)

EXPERIMENT = "e2epipe"
#: MLflow 3 saves sklearn models with skops, which (unlike pickle) refuses at load time any
#: type not on a list: these two are what the feature pipeline needs beyond skops's defaults.
TRUSTED_TYPES = ["numpy.dtype", "sklearn.feature_selection._univariate_selection.f_classif"]
CHAMPION = "champion"


def _quiet() -> None:
    """MLflow and alembic log every schema migration and a pip warning at INFO/WARNING."""
    for name in ("mlflow", "alembic", "mlflow.utils.environment"):
        logging.getLogger(name).setLevel(logging.ERROR)


def configure(settings: Settings) -> Any:
    """Point MLflow at the work folder's store; returns a client."""
    _quiet()
    import mlflow
    from mlflow import MlflowClient

    settings.workdir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    if client.get_experiment_by_name(EXPERIMENT) is None:
        settings.artifact_root.mkdir(parents=True, exist_ok=True)
        client.create_experiment(EXPERIMENT, artifact_location=settings.artifact_root.as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return client


def register(
    settings: Settings,
    *,
    model: Any,
    sample: Any,
    params: Params,
    model_family: str,
    best_params: dict[str, Any],
    metrics: dict[str, float],
    ready: bool,
    files: list[Path],
    summary: dict[str, Any],
) -> str:
    """Log a run (params, metrics, files, the model) and register the model.

    Returns:
        The new version number (as MLflow writes it, a string).
    """
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    client = configure(settings)
    with mlflow.start_run(run_name=f"{model_family}") as run:
        mlflow.log_params(
            {
                "model_family": model_family,
                "seed": params.seed,
                "cv_folds": params.cv_folds,
                "test_size": params.test_size,
                **{f"features.{k}": v for k, v in params.features.model_dump().items()},
                **{f"model.{k}": v for k, v in best_params.items()},
            }
        )
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.set_tags({"ready": str(ready).lower(), "stage": "e2epipe"})
        mlflow.log_dict(summary, "summary.json")
        for path in files:
            mlflow.log_artifact(str(path))
        with warnings.catch_warnings():  # MLflow's hint about integer columns and nulls
            warnings.simplefilter("ignore", UserWarning)
            signature = infer_signature(sample, model.predict_proba(sample)[:, 1])
        info = mlflow.sklearn.log_model(
            sk_model=model,
            name="model",
            signature=signature,
            pip_requirements=["scikit-learn", "pandas", "numpy"],
            skops_trusted_types=TRUSTED_TYPES,
            registered_model_name=settings.model_name,
        )
    version = str(info.registered_model_version)
    client.set_model_version_tag(settings.model_name, version, "ready", str(ready).lower())
    client.set_model_version_tag(settings.model_name, version, "run_id", run.info.run_id)
    if ready:
        client.set_registered_model_alias(settings.model_name, CHAMPION, version)
        logger.info("version %s is the new champion", version)
    else:
        logger.warning("version %s registered but not ready: champion unchanged", version)
    return version


@dataclass
class Loaded:
    """A model loaded from the registry."""

    version: str
    uri: str
    model: Any
    metrics: dict[str, float]


def load(settings: Settings, version: str | None = None) -> Loaded:
    """Load the champion (or an explicit version) of the configured model.

    Raises:
        E2epipeError: no such model/version/alias, or its files do not load.
    """
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    client = configure(settings)
    try:
        if version is None:
            mv = client.get_model_version_by_alias(settings.model_name, CHAMPION)
        else:
            mv = client.get_model_version(settings.model_name, version)
    except MlflowException as exc:
        if version is None:
            hint = "run `e2epipe run` until a version passes the readiness checklist"
            what = f"{CHAMPION} alias"
        else:
            hint = "`e2epipe versions` lists them"
            what = f"version {version}"
        raise E2epipeError(
            f"model {settings.model_name!r} has no {what} in {settings.tracking_uri} "
            f"({exc.error_code}): {hint}"
        ) from None
    uri = f"models:/{settings.model_name}/{mv.version}"
    try:
        model = mlflow.sklearn.load_model(uri)
    except Exception as exc:  # a corrupt pickle raises anything from EOFError to ImportError
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise E2epipeError(f"{uri} failed to load: {type(exc).__name__}: {text}") from None
    if not hasattr(model, "predict_proba"):
        raise E2epipeError(f"{uri} is not a classifier with predict_proba")
    run = client.get_run(mv.run_id) if mv.run_id else None
    return Loaded(str(mv.version), uri, model, dict(run.data.metrics) if run else {})


def versions(settings: Settings) -> list[dict[str, Any]]:
    """Every registered version with its readiness tag and the aliases pointing at it."""
    client = configure(settings)
    found = client.search_model_versions(f"name='{settings.model_name}'")
    # the search leaves aliases out: the registered model maps alias -> version
    aliases: dict[str, list[str]] = {}
    if found:
        for alias, version in client.get_registered_model(settings.model_name).aliases.items():
            aliases.setdefault(str(version), []).append(alias)
    return [
        {
            "version": str(v.version),
            "ready": v.tags.get("ready"),
            "aliases": sorted(aliases.get(str(v.version), [])),
            "run_id": v.run_id,
        }
        for v in sorted(found, key=lambda v: int(v.version))
    ]


def write_json(path: Path, data: Any) -> Path:
    """Write a report file."""
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path
