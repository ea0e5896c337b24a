"""The model registry: MLflow on a local SQLite store (``<registry>/mlflow.db``, artifacts in
``<registry>/artifacts``). The same client calls talk to a remote ``mlflow server`` when a
team has one.

Versions carry where they came from (git commit, DVC data hash, metrics) as tags; aliases say
what each one is for: ``staging`` (registered by CI, smoke-tested), ``production`` (serving),
``previous`` (the production version before the last promotion: the rollback target).
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcicd.config import Settings
from mlcicd.errors import MlcicdError
from mlcicd.faults import TRUSTED

logger = logging.getLogger(__name__)

EXPERIMENT = "mlcicd"
#: skops (MLflow 3's sklearn format) refuses at load time any type not on a list: these are
#: what the template's pipeline and the planted faults need beyond skops's defaults.
TRUSTED_TYPES = ["numpy.dtype", *TRUSTED]
PRODUCTION, STAGING, PREVIOUS = "production", "staging", "previous"


def _quiet() -> None:
    for name in ("mlflow", "alembic", "mlflow.utils.environment"):
        logging.getLogger(name).setLevel(logging.ERROR)


def client(settings: Settings, *, create: bool = False) -> Any:
    """An MLflow client on the registry folder.

    Only registering creates a registry: reading one that is not there is an error, not a
    new empty registry in a mistyped folder.
    """
    if not create and not (settings.registry / "mlflow.db").is_file():
        raise MlcicdError(
            f"no registry at {settings.registry}: `mlcicd register` creates one "
            "(or set MLCICD_REGISTRY / --registry)"
        )
    import mlflow
    from mlflow import MlflowClient

    _quiet()  # after the import: importing mlflow sets its own log levels
    settings.registry.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    found = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    if found.get_experiment_by_name(EXPERIMENT) is None:
        artifacts = (settings.registry / "artifacts").resolve()
        artifacts.mkdir(parents=True, exist_ok=True)
        found.create_experiment(EXPERIMENT, artifact_location=artifacts.as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return found


def register_model(
    settings: Settings,
    model: Any,
    *,
    metrics: dict[str, float],
    tags: dict[str, str],
    alias: str | None = STAGING,
) -> str:
    """Log ``model`` with its metrics and tags, register it, point ``alias`` at it."""
    import mlflow
    import mlflow.sklearn

    reg = client(settings, create=True)
    with mlflow.start_run(run_name=tags.get("commit", "model")[:12]) as run:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.set_tags(tags)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            info = mlflow.sklearn.log_model(
                sk_model=model, name="model", pip_requirements=["scikit-learn", "pandas"],
                skops_trusted_types=TRUSTED_TYPES, registered_model_name=settings.model_name,
            )  # fmt: skip
    version = str(info.registered_model_version)
    for key, value in {**tags, "run_id": run.info.run_id}.items():
        reg.set_model_version_tag(settings.model_name, version, key, value)
    if alias:
        reg.set_registered_model_alias(settings.model_name, alias, version)
    return version


def register_project(settings: Settings, project: Path, *, alias: str = STAGING) -> str:
    """Register a DVC project's model (``dvc repro`` done) with its commit and data hash."""
    from mlcicd.project import run
    from mlcicd.stages import METRICS, MODEL, load_model

    model = load_model(project / MODEL)
    try:
        metrics = json.loads((project / METRICS).read_text())
    except (OSError, ValueError):
        raise MlcicdError(f"{project / METRICS}: missing or not JSON; run `dvc repro`") from None
    commit = run(["git", "rev-parse", "HEAD"], project).strip()
    dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"], project).strip())
    tags = {"commit": commit + ("-dirty" if dirty else ""), "data": _data_hash(project)}
    return register_model(settings, model, metrics=metrics, tags=tags, alias=alias)


def _data_hash(project: Path) -> str:
    """The md5 DVC recorded for data/raw.csv (what the model was trained on)."""
    import yaml

    try:
        doc = yaml.safe_load((project / "data" / "raw.csv.dvc").read_text())
        return str(doc["outs"][0]["md5"])
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return "unknown"


@dataclass
class Loaded:
    """A model version loaded from the registry."""

    version: str
    uri: str
    model: Any


def resolve(settings: Settings, *, version: str | None = None, alias: str | None = None) -> str:
    """The version number an explicit version or an alias names."""
    from mlflow.exceptions import MlflowException

    reg = client(settings)
    try:
        if version is not None:
            return str(reg.get_model_version(settings.model_name, version).version)
        if alias is None:
            raise MlcicdError("give a version or an alias")
        return str(reg.get_model_version_by_alias(settings.model_name, alias).version)
    except MlflowException as exc:
        what = f"version {version}" if version is not None else f"alias {alias!r}"
        raise MlcicdError(
            f"model {settings.model_name!r} has no {what} in {settings.registry} "
            f"({exc.error_code}): `mlcicd versions` lists them"
        ) from None


def alias_version(settings: Settings, alias: str) -> str | None:
    """The version ``alias`` points at, or None."""
    try:
        return resolve(settings, alias=alias)
    except MlcicdError:
        return None


def load(settings: Settings, *, version: str | None = None, alias: str | None = None) -> Loaded:
    """Load a version; a missing one or files that do not load are one clear error."""
    import mlflow.sklearn

    number = resolve(settings, version=version, alias=alias)
    uri = f"models:/{settings.model_name}/{number}"
    try:
        model = mlflow.sklearn.load_model(uri)
    except Exception as exc:  # corrupt files raise anything from EOFError to ImportError
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise MlcicdError(f"{uri} failed to load: {type(exc).__name__}: {text}"[:300]) from None
    if not hasattr(model, "predict_proba"):
        raise MlcicdError(f"{uri} is not a classifier with predict_proba")
    return Loaded(number, uri, model)


def set_alias(settings: Settings, alias: str, version: str) -> None:
    """Point ``alias`` at ``version``."""
    client(settings).set_registered_model_alias(settings.model_name, alias, version)


def tag(settings: Settings, version: str, key: str, value: str) -> None:
    """Tag a version (a rollback records its reason)."""
    client(settings).set_model_version_tag(settings.model_name, version, key, value[:4000])


def versions(settings: Settings) -> list[dict[str, Any]]:
    """Every version with its aliases, ROC AUC, commit and rollback note."""
    reg = client(settings)
    found = reg.search_model_versions(f"name='{settings.model_name}'")
    aliases: dict[str, list[str]] = {}
    if found:
        for name, number in reg.get_registered_model(settings.model_name).aliases.items():
            aliases.setdefault(str(number), []).append(name)
    rows = []
    for v in sorted(found, key=lambda v: int(v.version)):
        run = reg.get_run(v.run_id) if v.run_id else None
        roc = run.data.metrics.get("roc_auc") if run else None
        rows.append(
            {
                "version": str(v.version),
                "aliases": sorted(aliases.get(str(v.version), [])),
                "roc_auc": f"{roc:.3f}" if roc is not None else "",
                "commit": v.tags.get("commit", "")[:12],
                "note": v.tags.get("rolled_back", v.tags.get("fault", "")),
            }
        )
    return rows
