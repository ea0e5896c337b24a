"""Rolling windows: drift, late-label performance, metrics and the retrain policy, per window.

A :class:`Monitor` owns the reference window and the model trained on it. Each call of
:meth:`Monitor.process` takes the next window of production inputs (and whatever labels have
arrived meanwhile, which belong to earlier windows) and:

1. runs the Evidently drift analysis against the reference and saves its report;
2. scores the window with the model and logs the predictions by id;
3. joins the arrived labels and scores the recent windows that have labels;
4. publishes everything as Prometheus metrics;
5. lets the retrain policy decide, and hands any request to the trigger (outbox + hooks).

Windows come from a generator (:func:`scenario_stream`, drift on demand) or from a folder of
CSV files (:func:`folder_stream`, where ``*.labels.csv`` files deliver labels).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from driftwatch import data, model
from driftwatch.analysis import DriftSummary, analyze
from driftwatch.config import DriftwatchSettings
from driftwatch.errors import DataError
from driftwatch.exporter import DriftMetrics
from driftwatch.performance import Performance, PredictionLog
from driftwatch.policy import Hook, RetrainPolicy, RetrainRequest, RetrainTrigger, WindowVerdict

logger = logging.getLogger(__name__)

ID_COLUMN = "prediction_id"


@dataclass(frozen=True)
class Window:
    """One batch of production inputs plus the labels that arrived with it.

    Attributes:
        name: Report file stem and table label (``window-003``, a file name).
        features: The inputs; a ``prediction_id`` column is used when present.
        labels: ``prediction_id`` and ``default`` of earlier predictions, or None.
    """

    name: str
    features: pd.DataFrame
    labels: pd.DataFrame | None = None


@dataclass(frozen=True)
class WindowResult:
    """Everything the monitor concluded about one window."""

    index: int
    name: str
    drift: DriftSummary
    performance: Performance
    request: RetrainRequest | None
    pending_requests: int
    cooldown: bool


class Monitor:
    """Drift + performance + policy over a sequence of windows."""

    def __init__(
        self,
        reference: pd.DataFrame,
        *,
        policy: RetrainPolicy,
        trigger: RetrainTrigger,
        metrics: DriftMetrics | None = None,
        drift_share: float = 0.5,
        report_dir: Path | str | None = None,
        eval_windows: int = 3,
        seed: int = 0,
    ) -> None:
        """Train the model on ``reference`` and set the policy's baseline accuracy.

        Args:
            reference: Labelled reference window.
            policy: The retrain policy (its baseline is set here when unset).
            trigger: Where retrain requests go.
            metrics: Prometheus metrics to update (a fresh registry when None).
            drift_share: Share of drifted columns at which a window counts as drifted.
            report_dir: Folder of the per-window HTML/JSON reports (none when None).
            eval_windows: How many recent windows the performance figure covers.
            seed: Seed of the model.
        """
        data.validate_frame(reference, source="reference", require_target=True)
        if eval_windows < 1:
            raise DataError("eval_windows must be at least 1")
        self.reference = reference
        self.model = model.train(reference, seed=seed)
        self.baseline_accuracy = model.accuracy(self.model, reference)
        if policy.baseline_accuracy is None:
            policy.baseline_accuracy = self.baseline_accuracy
        self.policy = policy
        self.trigger = trigger
        self.metrics = metrics or DriftMetrics()
        self.metrics.baseline_accuracy.set(self.baseline_accuracy)
        self.drift_share = drift_share
        self.report_dir = Path(report_dir) if report_dir is not None else None
        self.eval_windows = eval_windows
        self.log = PredictionLog()
        self.index = 0

    @classmethod
    def from_settings(
        cls,
        reference: pd.DataFrame,
        settings: DriftwatchSettings,
        *,
        out_dir: Path,
        hooks: Sequence[Hook] = (),
        metrics: DriftMetrics | None = None,
    ) -> Monitor:
        """A monitor with the policy, thresholds and seed of ``settings``.

        Reports go to ``out_dir/reports`` and the retrain outbox to ``out_dir/outbox.jsonl``.
        """
        return cls(
            reference,
            policy=RetrainPolicy(
                consecutive_windows=settings.consecutive_windows,
                max_accuracy_drop=settings.max_accuracy_drop,
                cooldown_windows=settings.cooldown_windows,
            ),
            trigger=RetrainTrigger(out_dir / "outbox.jsonl", hooks),
            metrics=metrics,
            drift_share=settings.drift_share,
            report_dir=out_dir / "reports",
            seed=settings.seed,
        )

    def add_labels(self, labels: pd.DataFrame) -> int:
        """Join late labels (``prediction_id``, ``default``); returns how many matched."""
        missing = {ID_COLUMN, data.TARGET} - set(labels.columns)
        if missing:
            raise DataError(f"labels need column(s) {', '.join(sorted(missing))}")
        return self.log.add_labels(labels[ID_COLUMN], labels[data.TARGET])

    def process(self, window: Window) -> WindowResult:
        """Analyse one window (see the module docstring for the steps)."""
        index = self.index
        features = window.features
        drift = analyze(
            self.reference,
            features,
            drift_share=self.drift_share,
            out_dir=self.report_dir,
            name=window.name,
        )
        ids = (
            features[ID_COLUMN].astype(str)
            if ID_COLUMN in features.columns
            else pd.Series([f"{window.name}-{i}" for i in range(len(features))])
        )
        predictions = model.predict(self.model, features)["prediction"]
        self.log.add_predictions(index, ids, predictions)
        if window.labels is not None:
            self.add_labels(window.labels)
        recent = list(range(max(0, index - self.eval_windows + 1), index + 1))
        perf = self.log.performance(recent)

        self.metrics.record_drift(drift)
        self.metrics.record_performance(perf)
        verdict = WindowVerdict(
            window=index,
            dataset_drift=drift.dataset_drift,
            drift_share=drift.drift_share,
            drifted_columns=tuple(c.column for c in drift.columns if c.drifted),
            accuracy=perf.accuracy,
        )
        request = self.policy.observe(verdict)
        cooldown = request is None and self.policy.in_cooldown(index)
        if request is not None:
            self.metrics.retrain_requests.inc()
            self.trigger.submit(request)
        else:
            self.trigger.flush()  # retry what an earlier window could not deliver
        pending = self.trigger.pending()
        self.metrics.retrain_pending.set(pending)
        self.index += 1
        return WindowResult(index, window.name, drift, perf, request, pending, cooldown)


def scenario_stream(
    plan: Sequence[str],
    *,
    rows: int,
    seed: int,
    label_delay: int = 1,
    label_share: float = 0.9,
) -> Iterator[Window]:
    """Generated windows following ``plan`` (scenario names), with labels arriving late.

    Window ``i`` is drawn with scenario ``plan[i]``; a ``label_share`` of its labels arrive
    with window ``i + label_delay`` (the rest never do).

    Raises:
        DataError: An unknown scenario name, or a label share outside [0, 1].
    """
    if not 0 <= label_share <= 1:
        raise DataError(f"label_share must be in [0, 1], got {label_share}")
    if label_delay < 0:
        raise DataError("label_delay cannot be negative")
    specs = [data.scenario(name) for name in plan]
    pending: list[tuple[int, pd.DataFrame]] = []
    for i, spec in enumerate(specs):
        frame = data.generate(rows, seed=seed + 1000 + i, drift=spec)
        frame.insert(0, ID_COLUMN, [f"w{i:03d}-{j:05d}" for j in range(rows)])
        delivered = frame.sample(frac=label_share, random_state=seed + i)[[ID_COLUMN, data.TARGET]]
        pending.append((i + label_delay, delivered))
        due = [labels for at, labels in pending if at == i]
        pending = [(at, labels) for at, labels in pending if at != i]
        yield Window(
            name=f"window-{i:03d}-{plan[i]}",
            features=frame.drop(columns=[data.TARGET]),
            labels=pd.concat(due) if due else None,
        )


def folder_stream(
    folder: Path | str, *, follow: bool = False, poll: float = 2.0
) -> Iterator[Window | pd.DataFrame]:
    """CSV files of ``folder`` in name order: windows, and ``*.labels.csv`` label deliveries.

    Yields a :class:`Window` for a batch file and a DataFrame for a labels file. With
    ``follow`` it keeps polling for new files (a deployment's mode) until interrupted.

    Raises:
        DataError: The folder does not exist, or a file is not a valid window.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    seen: set[Path] = set()
    while True:
        new = sorted(p for p in folder.glob("*.csv") if p not in seen)
        for path in new:
            seen.add(path)
            if path.name.endswith(".labels.csv"):
                labels = pd.read_csv(path)
                logger.info("labels from %s: %d rows", path.name, len(labels))
                yield labels
            else:
                yield Window(name=path.stem, features=data.load_csv(path))
        if not follow:
            return
        time.sleep(poll)
