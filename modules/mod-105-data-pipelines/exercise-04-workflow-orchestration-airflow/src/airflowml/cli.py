"""The ``airflowml`` command: init, dags, run, models, drop-batch, alerts, demo, ui.

Every command points Airflow at the exercise's home first (``--home`` or ``AIRFLOWML_HOME``):
the metadata DB, logs, data and models all live there. Exit codes: 0 done, 1 bad input or a
DAG run that did not succeed (the failed tasks and the alert on stderr), 2 bad usage.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from, supervise
from aiinfra_shared.cliapp import err_console as err
from airflowml.config import AirflowmlSettings
from airflowml.errors import AirflowmlError
from airflowml.ui import print_run, run_logged

_state: dict[str, AirflowmlSettings] = {}


def _global_options(
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Where Airflow's DB, data and models live ($AIRFLOWML_HOME)."),
    ] = None,
) -> None:
    """Point settings and Airflow's environment at the exercise's home for every sub-command."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", module=r"airflow\..*")
    settings = settings_from(AirflowmlSettings, AirflowmlError, home=home)
    from airflowml.home import activate

    activate(settings)
    _state["settings"] = settings


app = package_app(
    "105-04: ML workflow orchestration with real Apache Airflow 3 DAG runs.",
    callback=_global_options,
)


def _settings() -> AirflowmlSettings:
    return _state["settings"]


def _ensure_db(settings: AirflowmlSettings) -> None:
    from airflowml.home import init

    with console.status("airflow db migrate (first use of this home)..."):
        init(settings)


def _parse_conf(conf: str | None, params: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if conf:
        try:
            loaded = json.loads(conf)
        except json.JSONDecodeError as exc:
            raise AirflowmlError(f"--conf is not JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise AirflowmlError("--conf must be a JSON object")
        values.update(loaded)
    for item in params:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise AirflowmlError(f"--param wants key=value, got {item!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def _failure_lines(result: Any, settings: AirflowmlSettings) -> list[str]:
    from airflowml.alerts import read_alerts

    alerts = [
        a
        for a in read_alerts(settings.alert_log)
        if a.get("run_id") == result.run_id and a.get("kind") == "task_failed"
    ]
    return [f"{a['task_id']}: {a['error']}" for a in alerts] or [
        f"{row.label}: {row.state}" for row in result.tasks if row.state == "failed"
    ]


@app.command()
def init(
    force: Annotated[bool, typer.Option("--force", help="Migrate even if done before.")] = False,
) -> None:
    """Create the home and its Airflow metadata DB (``airflow db migrate``, ~10 s)."""
    from airflowml.home import init as do_init

    settings = _settings()
    start = time.monotonic()
    with console.status("airflow db migrate..."):
        ran = do_init(settings, force=force)
    what = f"migrated in {time.monotonic() - start:.1f} s" if ran else "already migrated"
    console.print(f"AIRFLOW_HOME={settings.airflow_home} ({what})")


@app.command()
def dags() -> None:
    """List the DAGs (parsed from the package's dags/ folder) with schedule, owner, tags."""
    from airflowml.runner import dagbag, output_to, schedule_of

    with output_to(_settings().airflow_home / "logs" / "parse.log"):
        bag = dagbag()
    table = Table("dag", "schedule", "owner", "tasks", "tags")
    for dag_id, dag in sorted(bag.dags.items()):
        table.add_row(
            dag_id,
            schedule_of(dag),
            ", ".join(sorted(dag.owner.split(","))) if dag.owner else "",
            str(len(dag.tasks)),
            ", ".join(sorted(dag.tags)),
        )
    console.print(table)


@app.command()
def run(
    dag_id: Annotated[str, typer.Argument(help="e.g. ml_training_pipeline")],
    conf: Annotated[str | None, typer.Option("--conf", help="Run conf as a JSON object.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value (value parsed as JSON when it can be)."),
    ] = None,
) -> None:
    """Run a DAG for real (``dag.test()`` on the local metadata DB) and show its tasks."""

    settings = _settings()
    values = _parse_conf(conf, param or [])
    _ensure_db(settings)
    result = run_logged(settings, dag_id, values)
    print_run(result)
    if not result.ok:
        for line in _failure_lines(result, settings):
            err.print(f"[red]failed:[/] {line}", highlight=False)
        raise typer.Exit(1)


@app.command()
def models(
    model_name: Annotated[str | None, typer.Option("--model-name", "-m")] = None,
) -> None:
    """The registered versions of a model, and which one is deployed."""
    from airflowml.registry import ModelRegistry

    settings = _settings()
    name = model_name or settings.model_name
    registry = ModelRegistry(settings.models_dir, name)
    current = registry.current()
    table = Table("version", "candidate", "val AUC", "test AUC", "rows", "deployed", title=name)
    for version in registry.versions():
        meta = version.metadata
        deployed = current is not None and current.version == version.version
        table.add_row(
            f"v{version.version}",
            str(meta.get("candidate", "")),
            f"{meta['val']['auc']:.4f}",
            f"{meta['test']['auc']:.4f}",
            str(meta.get("data", {}).get("rows", "")),
            "[green]yes[/]" if deployed else "",
        )
    if not registry.versions():
        raise AirflowmlError(f"model {name} has no versions yet: run ml_training_pipeline")
    console.print(table)


@app.command("drop-batch")
def drop_batch(
    rows: Annotated[int, typer.Option("--rows", help="Rows in the batch.")] = 500,
    seed: Annotated[int, typer.Option("--seed")] = 99,
    name: Annotated[str, typer.Option("--name", help="File name in the inbox.")] = "",
) -> None:
    """Put a generated batch CSV in the inbox, for ``batch_inference``'s sensor."""
    from airflowml.data import generate

    settings = _settings()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    target = settings.inbox / (name or f"batch-{int(time.time())}-{seed}.csv")
    staging = target.with_suffix(".part")  # the sensor only looks at *.csv: no half files
    generate(rows, seed, with_label=False).to_csv(staging, index=False)
    staging.replace(target)
    console.print(f"dropped {rows} rows in {target}")


@app.command()
def alerts(last: Annotated[int, typer.Option("--last", help="How many.")] = 20) -> None:
    """The latest alerts (task failures, deadline misses) from the alert log."""
    from airflowml.alerts import read_alerts

    found = read_alerts(_settings().alert_log)[-last:]
    table = Table("at", "kind", "dag", "task", "detail")
    for alert in found:
        detail = alert.get("error") or f"{alert.get('took_s')} s > {alert.get('budget_s')} s"
        table.add_row(
            alert["at"][:19],
            alert["kind"],
            alert.get("dag_id", ""),
            alert.get("task_id", ""),
            str(detail),
        )
    console.print(table)


@app.command()
def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Use --home/$AIRFLOWML_HOME instead of a temp home.")
    ] = False,
) -> None:
    """End to end: train and deploy, retrain on worse data (kept out), score a batch, check
    data quality; every run is a real Airflow DAG run."""
    from airflowml.demo import run_demo

    settings = _settings()
    if keep:
        run_demo(settings, console)
        return
    with tempfile.TemporaryDirectory(prefix="airflowml-demo-") as tmp:
        temp = settings.model_copy(update={"home": Path(tmp)})
        from airflowml.home import activate

        activate(temp)
        run_demo(temp, console)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@app.command()
def ui(
    port: Annotated[int, typer.Option("--port", help="API server / UI port.")] = 8080,
) -> None:
    """Start ``airflow standalone`` on 127.0.0.1 (scheduler, dag processor, triggerer, UI).

    Heavy: ~40 processes and several GB of RAM. Ctrl-C or SIGTERM stops all of them.
    """
    from airflowml.home import ui_env

    settings = _settings()
    _ensure_db(settings)
    env = ui_env(settings, port, _free_port())
    password_file = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    console.print(
        f"Airflow UI on http://127.0.0.1:{port} (user admin, password in {password_file} once "
        "it is up). Its log servers listen on all interfaces: Airflow hard-codes that."
    )
    # Ctrl-C, SIGTERM or SIGHUP stops the whole process group (about 40 processes).
    code = supervise([sys.executable, "-m", "airflow", "standalone"], env=env, grace=30)
    if code:
        raise typer.Exit(code)


def _quiet_airflow() -> None:
    for name in ("airflow", "airflow.task", "airflow.sdk", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)


_quiet_airflow()
main = run_typer(app)
