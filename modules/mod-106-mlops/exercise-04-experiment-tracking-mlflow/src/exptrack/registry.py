"""The model registry workflow: register, promote by aliases behind quality gates, roll back.

Aliases (mlflow 2.9+; stages are deprecated):

- ``challenger``: the version under review. ``exptrack promote`` points it at the version it
  registers, whether or not the gates pass, so a refused model stays easy to inspect.
- ``champion``: the version that serves. Only a version that passes every gate gets it.

Every decision is written on the model version as tags (``gate.<name>``, ``gate.status``,
``promoted_from``, ``promoted_at``), so the registry itself is the audit log, and
``promoted_from`` is the chain that ``exptrack rollback`` walks back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from exptrack.data import Dataset, load_dataset
from exptrack.errors import ExptrackError, GateRefusedError
from exptrack.server import mlflow_errors

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

CHAMPION = "champion"
CHALLENGER = "challenger"
NO_PREVIOUS = "none"


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the promotion gates.

    Attributes:
        min_accuracy: Held-out accuracy the challenger must reach.
        min_f1: Held-out F1 the challenger must reach.
        tolerance: How far below the champion's held-out F1 the challenger may be.
    """

    min_accuracy: float = 0.9
    min_f1: float = 0.9
    tolerance: float = 0.0


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict, with a sentence that says why."""

    name: str
    passed: bool
    detail: str


@dataclass
class PromotionResult:
    """What ``promote`` did.

    Attributes:
        model: Registered model name.
        version: The challenger's version.
        previous: The champion before (None when there was none).
        gates: Every gate's verdict.
        holdout: Held-out metrics of the challenger (and ``champion_*`` of the champion).
    """

    model: str
    version: str
    previous: str | None
    gates: list[GateResult]
    holdout: dict[str, float] = field(default_factory=dict)

    @property
    def promoted(self) -> bool:
        """Whether every gate passed."""
        return all(g.passed for g in self.gates)


def best_run_id(client: MlflowClient, experiment: str, metric: str = "val_f1") -> str:
    """The finished training run with the highest ``metric`` in ``experiment``."""
    from exptrack.compare import top_runs

    return str(top_runs(client, experiment, metric, limit=1)["run_id"].iloc[0])


def register(client: MlflowClient, name: str, run_id: str) -> ModelVersion:
    """Register the model of ``run_id`` under ``name`` (or return its existing version)."""
    import mlflow

    with mlflow_errors(f"run {run_id}"):
        run = client.get_run(run_id)
    model_uri = run.data.tags.get("model_uri")
    if not model_uri:
        raise ExptrackError(f"run {run_id} logged no model (is it a training run?)")
    with mlflow_errors(f"registered model {name!r}"):
        if client.search_registered_models(filter_string=f"name = '{name}'"):
            for mv in client.search_model_versions(filter_string=f"name = '{name}'"):
                if mv.run_id == run_id:
                    return mv
        return mlflow.register_model(
            model_uri,
            name,
            tags={
                "git_sha": run.data.tags.get("git_sha", "unknown"),
                "data_hash": run.data.tags.get("data_hash", "unknown"),
                "model_kind": run.data.tags.get("model_kind", "unknown"),
            },
        )


def alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version behind ``alias``, or None when the alias is not set.

    Raises:
        ExptrackError: The registered model does not exist.
    """
    from mlflow.exceptions import MlflowException

    with mlflow_errors(f"registered model {name!r}"):
        model = client.get_registered_model(name)
    if alias not in (model.aliases or {}):
        return None
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:  # removed between the two calls
        return None


def _dataset_of(client: MlflowClient, run_id: str) -> Dataset:
    params = client.get_run(run_id).data.params
    return load_dataset(
        params.get("dataset", "breast_cancer"),
        seed=int(params.get("seed", 42)),
        rows=int(params.get("dataset_rows", 2000)),
    )


def _input_schema(name: str, version: str) -> list[tuple[str, str]] | None:
    from mlflow.models import get_model_info

    with mlflow_errors(f"{name} v{version}"):
        info = get_model_info(f"models:/{name}/{version}")
    if info.signature is None:
        return None
    return [(str(c.name), str(c.type)) for c in info.signature.inputs.inputs]


def _holdout_scores(name: str, version: str, data: Dataset) -> dict[str, float]:
    import mlflow

    from exptrack.train import classification_metrics

    with mlflow_errors(f"{name} v{version}"):
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    columns = model.metadata.get_input_schema().input_names()
    x = data.holdout[[c for c in data.holdout.columns if c in columns]]
    labels = np.asarray(model.predict(x)).ravel()
    return classification_metrics(data.holdout["target"].to_numpy(), labels, None)


def evaluate_gates(
    client: MlflowClient, name: str, version: str, champion: str | None, config: GateConfig
) -> tuple[list[GateResult], dict[str, float]]:
    """Run every gate for ``version`` against ``champion`` on the held-out data.

    Returns:
        The verdicts, and the held-out metrics used (``accuracy``, ``f1``, ``champion_f1``).
    """
    with mlflow_errors(f"{name} v{version}"):
        mv = client.get_model_version(name, version)
    if mv.run_id is None:
        raise ExptrackError(f"{name} v{version} has no source run: cannot find its data")
    data = _dataset_of(client, mv.run_id)
    gates: list[GateResult] = []

    mine = _input_schema(name, version)
    if mine is None:
        gates.append(
            GateResult("signature", False, "the challenger was logged without a signature")
        )
    elif champion is None:
        gates.append(GateResult("signature", True, f"{len(mine)} typed inputs; no champion yet"))
    else:
        theirs = _input_schema(name, champion) or []
        missing = [c for c, _ in theirs if c not in dict(mine)]
        extra = [c for c, _ in mine if c not in dict(theirs)]
        changed = [
            f"{c} {t}->{dict(mine)[c]}" for c, t in theirs if c in dict(mine) and dict(mine)[c] != t
        ]
        problems = []
        if missing:
            problems.append(f"drops input(s) {', '.join(missing[:5])}")
        if extra:
            problems.append(f"needs new input(s) {', '.join(extra[:5])}")
        if changed:
            problems.append(f"changes type(s) {', '.join(changed[:5])}")
        detail = (
            "; ".join(problems) + f" vs champion v{champion}"
            if problems
            else f"same {len(mine)} inputs and types as champion v{champion}"
        )
        gates.append(GateResult("signature", not problems, detail))

    scores = _holdout_scores(name, version, data)
    holdout = {"accuracy": scores["accuracy"], "f1": scores["f1"]}
    for metric, floor in (("accuracy", config.min_accuracy), ("f1", config.min_f1)):
        ok = scores[metric] >= floor
        gates.append(
            GateResult(
                f"min_{metric}",
                ok,
                f"held-out {metric} {scores[metric]:.4f} {'>=' if ok else '<'} {floor:.4f}",
            )
        )

    if champion is None:
        gates.append(GateResult("vs_champion", True, "no champion yet"))
    else:
        theirs_scores = _holdout_scores(name, champion, data)
        holdout["champion_f1"] = theirs_scores["f1"]
        bar = theirs_scores["f1"] - config.tolerance
        ok = scores["f1"] >= bar
        gates.append(
            GateResult(
                "vs_champion",
                ok,
                f"held-out f1 {scores['f1']:.4f} {'>=' if ok else '<'} champion v{champion} "
                f"{theirs_scores['f1']:.4f} - tolerance {config.tolerance:g}",
            )
        )
    return gates, holdout


def promote(
    client: MlflowClient,
    name: str,
    version: str,
    config: GateConfig | None = None,
) -> PromotionResult:
    """Make ``version`` the challenger, gate it, and make it champion if every gate passes.

    Raises:
        GateRefusedError: A gate failed; ``champion`` did not move. The verdicts are on the
            version's tags and in the exception's ``reasons``.
        ExptrackError: Unknown model or version, or ``version`` is champion already.
    """
    config = config or GateConfig()
    with mlflow_errors(f"{name} v{version}"):
        client.get_model_version(name, version)
    current = alias_version(client, name, CHAMPION)
    previous = str(current.version) if current is not None else None
    if previous == str(version):
        raise ExptrackError(f"{name} v{version} is the champion already")
    client.set_registered_model_alias(name, CHALLENGER, version)
    gates, holdout = evaluate_gates(client, name, str(version), previous, config)
    result = PromotionResult(name, str(version), previous, gates, holdout)
    for gate in gates:
        client.set_model_version_tag(
            name,
            version,
            f"gate.{gate.name}",
            f"{'pass' if gate.passed else 'FAIL'}: {gate.detail}",
        )
    client.set_model_version_tag(
        name, version, "gate.status", "passed" if result.promoted else "refused"
    )
    if not result.promoted:
        raise GateRefusedError(
            name, str(version), [f"{g.name}: {g.detail}" for g in gates if not g.passed]
        )
    client.set_model_version_tag(name, version, "promoted_from", previous or NO_PREVIOUS)
    client.set_model_version_tag(name, version, "promoted_at", _now())
    client.set_registered_model_alias(name, CHAMPION, version)
    client.delete_registered_model_alias(name, CHALLENGER)
    return result


def rollback(client: MlflowClient, name: str) -> tuple[str, str]:
    """Move ``champion`` back to the version it replaced.

    Returns:
        ``(from_version, to_version)``.

    Raises:
        ExptrackError: No such model, no champion, or the champion replaced nothing.
    """
    current = alias_version(client, name, CHAMPION)
    if current is None:
        raise ExptrackError(f"{name} has no champion to roll back")
    previous = current.tags.get("promoted_from", NO_PREVIOUS)
    if previous == NO_PREVIOUS:
        raise ExptrackError(
            f"{name} v{current.version} was the first champion: nothing to roll back to"
        )
    with mlflow_errors(f"{name} v{previous}"):
        client.get_model_version(name, previous)
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_model_version_tag(name, current.version, "rolled_back_at", _now())
    return str(current.version), str(previous)


def versions_table(client: MlflowClient, name: str) -> pd.DataFrame:
    """Every version of ``name`` with its aliases, gate status and source run."""
    with mlflow_errors(f"registered model {name!r}"):
        model = client.get_registered_model(name)
        versions = client.search_model_versions(filter_string=f"name = '{name}'")
    aliases: dict[str, list[str]] = {}
    for alias, v in (model.aliases or {}).items():
        aliases.setdefault(str(v), []).append(alias)
    rows: list[dict[str, Any]] = [
        {
            "version": int(mv.version),
            "aliases": ",".join(sorted(aliases.get(str(mv.version), []))),
            "model_kind": mv.tags.get("model_kind", ""),
            "gate": mv.tags.get("gate.status", ""),
            "promoted_from": mv.tags.get("promoted_from", ""),
            "run_id": mv.run_id,
        }
        for mv in versions
    ]
    return pd.DataFrame(rows).sort_values("version").reset_index(drop=True)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
