"""Airflow DAG file: ``data_quality_monitor`` (built in :mod:`airflowml.pipelines`)."""

from __future__ import annotations

from airflowml.pipelines import quality_dag

data_quality_monitor = quality_dag()
