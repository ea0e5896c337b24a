"""The local Airflow home: its environment, ``airflow db migrate``, and the UI's settings.

Airflow reads its configuration (``AIRFLOW_HOME``, ``AIRFLOW__SECTION__KEY`` variables) once,
when ``airflow`` is first imported. :func:`activate` therefore sets the environment before any
import of Airflow, and refuses when Airflow was already imported with another home.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airflowml.config import AirflowmlSettings
from airflowml.errors import AirflowmlError

DAGS_FOLDER = Path(__file__).with_name("dags")


def airflow_env(settings: AirflowmlSettings) -> dict[str, str]:
    """The variables that point Airflow at this exercise's home and DAGs.

    SQLite metadata DB in the home, no example DAGs, the package's ``dags/`` folder, DAGs
    unpaused when first seen (an asset event queues only unpaused consumers), and the task
    SDK's in-process execution API (what ``dag.test()`` uses).
    """
    home = settings.airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get(
            "AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"
        ),
        "AIRFLOWML_HOME": str(settings.home),
    }


def activate(settings: AirflowmlSettings) -> None:
    """Export :func:`airflow_env` into this process (before Airflow is imported)."""
    env = airflow_env(settings)
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != env["AIRFLOW_HOME"]:
        raise AirflowmlError(
            f"Airflow is already loaded with AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME')!r}; "
            f"this process cannot switch to {env['AIRFLOW_HOME']}"
        )
    os.environ.update(env)
    settings.airflow_home.mkdir(parents=True, exist_ok=True)


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow-core")


def migrated_marker(settings: AirflowmlSettings) -> Path:
    return settings.airflow_home / f".migrated-{_airflow_version()}"


def init(settings: AirflowmlSettings, *, force: bool = False) -> bool:
    """Create the home and run ``airflow db migrate`` (once per Airflow version).

    Returns:
        True when a migration ran, False when the database was already current.

    Raises:
        AirflowmlError: ``airflow db migrate`` failed (its output's tail is in the message).
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    marker = migrated_marker(settings)
    if marker.is_file() and not force:
        return False
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**os.environ, **airflow_env(settings)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise AirflowmlError(f"airflow db migrate failed ({done.returncode}): {tail}")
    marker.write_text("ok\n")
    return True


def ui_env(settings: AirflowmlSettings, port: int, log_port: int) -> dict[str, str]:
    """``airflow standalone`` on loopback: API server, execution API and log server ports.

    Airflow starts its components as ``airflow`` subprocesses, so the interpreter's ``bin``
    goes first on PATH.
    """
    base = f"http://127.0.0.1:{port}"
    return {
        **os.environ,
        **airflow_env(settings),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_port + 1),
    }
