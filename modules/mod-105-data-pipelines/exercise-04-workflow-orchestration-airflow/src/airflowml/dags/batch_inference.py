"""Airflow DAG file: ``batch_inference`` (built in :mod:`airflowml.pipelines`)."""

from __future__ import annotations

from airflowml.pipelines import batch_inference_dag

batch_inference = batch_inference_dag()
