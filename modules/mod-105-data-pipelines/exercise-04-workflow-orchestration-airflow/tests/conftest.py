"""One Airflow home per test session, set up before anything imports Airflow.

Airflow reads ``AIRFLOW_HOME`` and its ``AIRFLOW__*`` variables once, at import: this conftest
is imported before the test modules, so it points them at a temporary home and migrates its
SQLite metadata DB (~10 s) once. Runs then share the DB and the model registry; each test that
trains uses a model name of its own, so registries never mix.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="airflowml-tests-"))
os.environ["AIRFLOWML_HOME"] = str(_HOME)
os.environ["AIRFLOWML_SENSOR_POKE_S"] = "1"
os.environ["AIRFLOWML_SENSOR_TIMEOUT_S"] = "4"
os.environ.pop("AIRFLOWML_TRACKING_URI", None)
os.environ.pop("AIRFLOWML_ALERT_WEBHOOK", None)

from airflowml.config import AirflowmlSettings  # noqa: E402
from airflowml.home import activate, init  # noqa: E402

activate(AirflowmlSettings())  # before any test module imports Airflow
_names = itertools.count()


@pytest.fixture(scope="session")
def settings() -> Iterator[AirflowmlSettings]:
    """The session's settings, its Airflow home active and migrated."""
    current = AirflowmlSettings()
    init(current)
    yield current
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered-model name of this test's own."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")
    return f"{stem}-{next(_names)}"


@pytest.fixture
def inbox(settings: AirflowmlSettings) -> Iterator[Path]:
    """The batch inbox, empty before and after the test."""
    settings.inbox.mkdir(parents=True, exist_ok=True)
    for leftover in settings.inbox.glob("*"):
        leftover.unlink()
    yield settings.inbox
    for leftover in settings.inbox.glob("*"):
        leftover.unlink()
