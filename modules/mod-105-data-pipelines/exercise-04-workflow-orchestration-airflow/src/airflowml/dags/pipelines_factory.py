"""Airflow DAG file: one ``train_<name>`` DAG per entry of ``pipelines.yaml``.

The config file is ``AIRFLOWML_PIPELINES_FILE`` when set, else the ``pipelines.yaml`` beside this
file. A mistake in it is an import error of this file (Airflow shows it in the UI and in
``airflow dags list-import-errors``); the other DAG files are not affected.
"""

from __future__ import annotations

import os
from pathlib import Path

from airflowml.pipelines import factory_dags

CONFIG = Path(
    os.environ.get("AIRFLOWML_PIPELINES_FILE") or Path(__file__).with_name("pipelines.yaml")
)

for _dag in factory_dags(CONFIG):
    globals()[_dag.dag_id] = _dag
