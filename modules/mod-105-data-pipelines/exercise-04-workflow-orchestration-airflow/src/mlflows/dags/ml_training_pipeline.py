"""Airflow DAG file: ``ml_training_pipeline`` (built in :mod:`mlflows.pipelines`)."""

from __future__ import annotations

from mlflows.pipelines import main_schedule, training_dag

ml_training_pipeline = training_dag("ml_training_pipeline", schedule=main_schedule())
