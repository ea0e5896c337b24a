"""The stages in order: ingest -> validate -> split -> train (features + CV search) -> evaluate ->
register. Each stage is timed; the reports land in ``<workdir>/reports`` and in the MLflow run.

A stage that fails raises :class:`~e2epipe.errors.E2epipeError` naming the stage; nothing is
registered then, and the champion (what the server loads) stays as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from e2epipe import data as data_lib
from e2epipe import registry
from e2epipe.config import Params, Settings
from e2epipe.errors import E2epipeError
from e2epipe.evaluate import Evaluation, evaluate, plot_confusion
from e2epipe.train import Candidate, train_all

logger = logging.getLogger(__name__)

STAGES = ("ingest", "validate", "split", "train", "evaluate", "register")


@dataclass
class StageTime:
    """How long one stage took and what it found."""

    name: str
    seconds: float
    detail: str


@dataclass
class RunResult:
    """What one pipeline run produced."""

    stages: list[StageTime] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    evaluation: Evaluation | None = None
    version: str | None = None
    reports: Path | None = None

    @property
    def ready(self) -> bool:
        """The readiness checklist passed."""
        return bool(self.evaluation and self.evaluation.ready)


def run(
    data_path: Path,
    settings: Settings,
    params: Params,
    on_stage: Callable[[str], None] | None = None,
) -> RunResult:
    """Run every stage on ``data_path``.

    Args:
        data_path: CSV or Parquet.
        settings: Work folder, model name.
        params: What to train and the readiness thresholds.
        on_stage: Called with each stage's name when it starts (progress display).

    Raises:
        E2epipeError: a stage failed (the message names it).
    """
    result = RunResult()
    reports = settings.workdir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    result.reports = reports

    @contextmanager
    def stage(name: str) -> Iterator[list[str]]:
        if on_stage:
            on_stage(name)
        detail: list[str] = []
        started = time.perf_counter()
        try:
            yield detail
        except E2epipeError as exc:
            raise E2epipeError(f"stage {name} failed: {exc}") from None
        result.stages.append(StageTime(name, time.perf_counter() - started, "; ".join(detail)))

    with stage("ingest") as note:
        raw = data_lib.ingest(data_path)
        note.append(f"{len(raw)} rows from {data_path.name}")
    with stage("validate") as note:
        report = data_lib.validate(raw, params.max_reject_fraction)
        result.validation = report.summary()
        registry.write_json(reports / "validation.json", result.validation)
        if len(report.rejected):
            report.rejected.to_csv(reports / "rejected.csv", index=False)
        if not report.ok:
            raise E2epipeError("; ".join(report.errors))
        note.append(f"{len(report.accepted)} accepted, {len(report.rejected)} rejected")
    with stage("split") as note:
        train, holdout = train_test_split(
            report.accepted,
            test_size=params.test_size,
            stratify=report.accepted[data_lib.LABEL],
            random_state=params.seed,
        )
        note.append(f"{len(train)} train / {len(holdout)} holdout")
    with stage("train") as note:
        try:
            result.candidates = train_all(train, params)
        except ValueError as exc:  # sklearn refuses impossible settings (e.g. PCA > features)
            raise E2epipeError(str(exc).splitlines()[0]) from None
        best = result.candidates[0]
        note.append(f"best {best.name} CV ROC AUC {best.cv_roc_auc:.3f}")
    with stage("evaluate") as note:
        evaluation = evaluate(best, holdout, params.thresholds)
        result.evaluation = evaluation
        plot_confusion(
            evaluation.confusion, reports / "confusion_matrix.png", f"{best.name} (holdout)"
        )
        registry.write_json(reports / "evaluation.json", evaluation.as_dict())
        (reports / "report.md").write_text(markdown(result, best), encoding="utf-8")
        failed = [c.name for c in evaluation.checks if not c.passed]
        note.append("ready" if evaluation.ready else f"NOT ready ({', '.join(failed)})")
    with stage("register") as note:
        metrics = {f"holdout_{k}": v for k, v in evaluation.metrics.items()}
        metrics["cv_roc_auc"] = best.cv_roc_auc
        result.version = registry.register(
            settings,
            model=best.pipeline,
            sample=holdout[list(data_lib.FEATURES)].head(5),
            params=params,
            model_family=best.name,
            best_params=best.best_params,
            metrics=metrics,
            ready=evaluation.ready,
            files=[
                reports / "validation.json",
                reports / "evaluation.json",
                reports / "report.md",
                reports / "confusion_matrix.png",
            ],
            summary={"validation": result.validation, "evaluation": evaluation.as_dict()},
        )
        note.append(
            f"version {result.version}"
            + (" -> champion" if evaluation.ready else " (champion unchanged)")
        )
    return result


def markdown(result: RunResult, best: Candidate) -> str:
    """The run's report: validation, model comparison, holdout metrics, checklist."""
    assert result.evaluation is not None
    v = result.validation
    lines = [
        "# e2epipe run report",
        "",
        f"Data: {v['rows_in']} rows, {v['accepted']} accepted, {v['rejected']} rejected, "
        f"{v['duplicates_dropped']} duplicates dropped.",
        "",
        "## Models (cross-validated ROC AUC)",
        "",
        "| model | CV ROC AUC | std | best params | fit s |",
        "|---|---|---|---|---|",
    ]
    for c in result.candidates:
        mark = " **(best)**" if c is best else ""
        lines.append(
            f"| {c.name}{mark} | {c.cv_roc_auc:.4f} | {c.cv_std:.4f} | "
            f"{', '.join(f'{k}={val}' for k, val in c.best_params.items())} | {c.fit_seconds:.1f} |"
        )
    lines += ["", "## Holdout", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {val:.4f} |" for k, val in result.evaluation.metrics.items()]
    lines += ["", "## Production readiness", "", "| check | result | evidence |", "|---|---|---|"]
    lines += [
        f"| {c.name} | {'pass' if c.passed else 'FAIL'} | {c.evidence} |"
        for c in result.evaluation.checks
    ]
    verdict = "READY" if result.evaluation.ready else "NOT READY"
    lines += ["", f"Verdict: **{verdict}**", ""]
    return "\n".join(lines)
