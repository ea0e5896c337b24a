"""Airflow DAG file: ``data_quality_monitor`` (built in :mod:`mlflows.pipelines`)."""

from __future__ import annotations

from mlflows.pipelines import quality_dag

data_quality_monitor = quality_dag()
