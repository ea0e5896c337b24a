"""Rich output of a pipeline run: a progress bar over the stages, then the tables."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from aiinfra_shared.cliapp import console, progress_bar
from e2epipe.config import Params, Settings
from e2epipe.pipeline import STAGES, RunResult
from e2epipe.pipeline import run as run_pipeline


def run_with_progress(data: Path, settings: Settings, params: Params) -> RunResult:
    """The pipeline with a progress bar that names the running stage."""
    with progress_bar() as progress:
        task = progress.add_task("stages", total=len(STAGES))

        def on_stage(name: str) -> None:
            done = STAGES.index(name)
            progress.update(task, completed=done, description=f"{name} ({done + 1}/{len(STAGES)})")

        result = run_pipeline(data, settings, params, on_stage)
        progress.update(task, completed=len(STAGES))
    return result


def print_run(result: RunResult) -> None:
    """Stages, model comparison, checklist, verdict."""
    stages = Table("stage", "seconds", "result", title="pipeline")
    for s in result.stages:
        stages.add_row(s.name, f"{s.seconds:.1f}", s.detail)
    console.print(stages)
    models = Table("model", "CV ROC AUC", "best params", title="candidates (best first)")
    for c in result.candidates:
        models.add_row(
            c.name, f"{c.cv_roc_auc:.4f}", ", ".join(f"{k}={v}" for k, v in c.best_params.items())
        )
    console.print(models)
    assert result.evaluation is not None
    checks = Table("check", "result", "evidence", title="production readiness")
    for check in result.evaluation.checks:
        checks.add_row(check.name, "pass" if check.passed else "[red]FAIL[/]", check.evidence)
    console.print(checks)
    verdict = (
        "[green]READY: now the champion[/]"
        if result.ready
        else "[red]NOT READY[/]: champion unchanged"
    )
    console.print(f"version {result.version}: {verdict}; reports in {result.reports}")
