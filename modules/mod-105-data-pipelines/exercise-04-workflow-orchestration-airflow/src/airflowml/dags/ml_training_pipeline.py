"""Airflow DAG file: ``ml_training_pipeline`` (built in :mod:`airflowml.pipelines`)."""

from __future__ import annotations

from airflowml.pipelines import main_schedule, training_dag

ml_training_pipeline = training_dag("ml_training_pipeline", schedule=main_schedule())
