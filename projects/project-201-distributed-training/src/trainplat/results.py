"""What ``submit`` and ``tune`` return (plain data: the platform, its tracking and its reports
all read them, and none of those modules imports another for it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class JobReport:
    """A finished ``submit``."""

    name: str
    state: str
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    checkpoint: str | None
    restored_from_epoch: int
    seconds: float
    mlflow_run_id: str | None = None


@dataclass
class TrialRow:
    """One Tune trial."""

    trial: str
    config: dict[str, Any]
    epochs: int
    metric: float
    stopped_early: bool


@dataclass
class TuneReport:
    """A finished ``tune``."""

    name: str
    metric: str
    mode: str
    trials: list[TrialRow]
    best: TrialRow
    best_checkpoint: str | None
    seconds: float
    mlflow_experiment: str | None = None
    errors: list[str] = field(default_factory=list)
