"""``airflowml demo`` (what ``aiinfra run 105-04`` runs): five real DAG runs, end to end.

1. ``ml_training_pipeline``: v1 is trained on a 4-entry grid (mapped tasks), registered and
   deployed (no model was deployed before).
2. The same pipeline on a source with 30% flipped labels and a flaky ingest (fails twice,
   retried with backoff): v2 is registered, the deploy gate compares it with v1 on the same
   test rows, and the branch keeps v1.
3. ``batch_inference``: a batch lands in the inbox, the sensor sees it, ``score`` writes
   predictions with the deployed version.
4. ``data_quality_monitor`` on good data: the snapshot is published (an Asset event that
   queues ``ml_training_pipeline``); then on drifted data: the check stops it.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from airflowml.config import AirflowmlSettings
from airflowml.data import generate
from airflowml.home import init
from airflowml.registry import ModelRegistry


def _versions_table(settings: AirflowmlSettings) -> Table:
    registry = ModelRegistry(settings.models_dir, "churn")
    current = registry.current()
    table = Table("version", "candidate", "val AUC", "test AUC", "deployed", title="model churn")
    for version in registry.versions():
        meta = version.metadata
        table.add_row(
            f"v{version.version}",
            meta["candidate"],
            f"{meta['val']['auc']:.4f}",
            f"{meta['test']['auc']:.4f}",
            "[green]yes[/]" if current and current.version == version.version else "",
        )
    return table


def run_demo(settings: AirflowmlSettings, console: Console) -> None:
    """Run the demo in ``settings.home`` (Airflow must already point there)."""
    from airflowml.ui import print_run, run_logged

    console.rule("[bold]105-04: ML workflows on Apache Airflow 3")
    console.print(f"home: {settings.home}")
    with console.status("airflow db migrate (SQLite metadata DB)..."):
        init(settings)

    steps: list[tuple[str, str, dict[str, object]]] = [
        ("1. train, register, deploy v1", "ml_training_pipeline", {}),
        (
            "2. retrain on a degraded source (30% label noise, ingest fails twice)",
            "ml_training_pipeline",
            {"label_noise": 0.3, "flaky_failures": 2, "seed": 7},
        ),
    ]
    for title, dag_id, conf in steps:
        console.rule(title)
        result = run_logged(settings, dag_id, conf)
        print_run(result)
    console.print(_versions_table(settings))

    console.rule("3. batch inference: a file lands, the sensor sees it, score")
    settings.inbox.mkdir(parents=True, exist_ok=True)
    batch = settings.inbox / "customers-2026-12-01.csv"
    generate(400, 101, with_label=False).to_csv(batch, index=False)
    result = run_logged(settings, "batch_inference", {})
    print_run(result)
    predictions = settings.predictions_dir / f"{Path(batch).stem}.predictions.json"
    if predictions.is_file():
        console.print(f"predictions: {predictions.read_text()}")

    console.rule("4. data quality: a good snapshot is published, a drifted one is stopped")
    quality_confs: tuple[dict[str, object], ...] = ({}, {"drift": 2.0, "seed": 9})
    for quality_conf in quality_confs:
        result = run_logged(settings, "data_quality_monitor", quality_conf)
        print_run(result)
    reports = sorted(settings.runs_dir.glob("data_quality_monitor/*/quality_report.json"))
    if reports:
        console.print(f"last quality report: {reports[-1].read_text()}")
    console.print(
        "Next: `airflowml ui` for the Airflow UI, `airflowml dags` for every DAG, "
        "`airflowml run ml_training_pipeline -p n_rows=5000`."
    )
