"""Errors of airflowml: a user mistake is one line on stderr and a non-zero exit, never a trace."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class AirflowmlError(AiinfraError):
    """Bad input or an unusable Airflow home: unknown DAG, bad conf, no model registered."""


class DataValidationError(AirflowmlError):
    """A data file broke the schema: the reasons, one per broken rule.

    Attributes:
        reasons: What was wrong, e.g. ``"monthly_charges: 31 nulls"``.
    """

    def __init__(self, source: str, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(f"{source} failed validation: " + "; ".join(reasons))


class NoModelError(AirflowmlError):
    """Batch inference was asked to score before any model was deployed."""
