"""Airflow DAG file: ``batch_inference`` (built in :mod:`mlflows.pipelines`)."""

from __future__ import annotations

from mlflows.pipelines import batch_inference_dag

batch_inference = batch_inference_dag()
