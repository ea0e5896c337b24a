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
CSV files (:func:`watch_folder`, where ``*.labels.csv`` files deliver labels; what was
analysed is kept in a :class:`FolderState`, bad files are quarantined).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from driftwatch import data, model
from driftwatch.analysis import MIN_ROWS, DriftSummary, analyze
from driftwatch.config import DriftwatchSettings
from driftwatch.errors import DataError, SmallSampleError
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
        min_rows: int = MIN_ROWS,
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
            min_rows: A window with fewer rows is refused (:class:`SmallSampleError`).
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
        self.min_rows = min_rows
        self.log = PredictionLog()
        self.index = 0

    def restore(self, state: FolderState) -> None:
        """Carry on from a saved state: the window count and the policy's streak and
        cooldown (so a re-run of the same folder requests nothing twice)."""
        self.index = state.index
        self.policy.restore(state.streak, state.last_request)

    def save(self, state: FolderState) -> None:
        """Record the window count and the policy's state in ``state`` (and on disk)."""
        state.index = self.index
        state.streak, state.last_request = self.policy.snapshot()
        state.save()

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
            min_rows=settings.min_window_rows,
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
            min_rows=self.min_rows,
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


@dataclass
class FolderState:
    """What a folder monitor has done, kept in a JSON file between runs.

    Attributes:
        path: The state file.
        files: Content digest (sha256) of every file analysed or delivered, by file name.
        index: Windows analysed so far (the next window's number).
        streak: The policy's drifted windows in a row.
        last_request: The window of the last retrain request (cooldown), or None.
    """

    path: Path
    files: dict[str, str] = field(default_factory=dict)
    index: int = 0
    streak: int = 0
    last_request: int | None = None

    @classmethod
    def load(cls, path: Path) -> FolderState:
        """The saved state, or a fresh one when ``path`` does not exist.

        Raises:
            DataError: The file exists but is not a state this version wrote.
        """
        if not path.exists():
            return cls(path)
        try:
            doc = json.loads(path.read_text())
            return cls(path, dict(doc["files"]), int(doc["index"]), int(doc["streak"]),
                       doc["last_request"])  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not a driftwatch state file ({exc}); move it away") from None

    def save(self) -> None:
        """Write atomically (a crash leaves the old or the new state, whole)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"files": self.files, "index": self.index, "streak": self.streak,
               "last_request": self.last_request}  # fmt: skip
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        tmp.replace(self.path)

    def done(self, digest: str) -> bool:
        return digest in self.files.values()


@dataclass(frozen=True)
class FolderEvent:
    """What happened to one file of a watched folder.

    ``kind``: ``window`` (analysed: ``result`` is set), ``labels`` (joined), ``skipped``
    (analysed by an earlier run), ``small`` (too few rows: not analysed) or ``quarantined``
    (unreadable or invalid: moved to ``quarantine/`` with the reason beside it).
    """

    kind: str
    name: str
    detail: str = ""
    result: WindowResult | None = None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quarantine(path: Path, reason: str) -> Path:
    """Move ``path`` into ``quarantine/`` beside it, with ``<name>.reason.txt``."""
    target_dir = path.parent / "quarantine"
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    path.replace(target)
    (target_dir / f"{path.name}.reason.txt").write_text(reason + "\n")
    logger.warning("quarantined %s: %s", path.name, reason)
    return target


def watch_folder(
    monitor: Monitor,
    folder: Path | str,
    state: FolderState,
    *,
    follow: bool = False,
    poll: float = 2.0,
) -> Iterator[FolderEvent]:
    """Analyse the CSV files of ``folder`` in name order, remembering what is done.

    A batch file is a window; a ``*.labels.csv`` file delivers labels. A file analysed by an
    earlier run (same content) is skipped, and the policy carries on from its saved streak
    and cooldown, so a re-run requests no retrain twice. One bad file does not stop the
    monitor: it is moved to ``quarantine/`` with its reason. A window with too few rows is
    recorded and left alone. With ``follow`` it keeps polling until interrupted.

    Raises:
        DataError: ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    monitor.restore(state)
    while True:
        for path in sorted(folder.glob("*.csv")):
            try:
                digest = _digest(path)
            except OSError:
                continue  # removed meanwhile
            if state.done(digest):
                if not follow:
                    yield FolderEvent("skipped", path.name, "analysed by an earlier run")
                continue
            try:
                if path.name.endswith(".labels.csv"):
                    matched = monitor.add_labels(data.load_labels(path))
                    event = FolderEvent("labels", path.name, f"{matched} predictions labelled")
                else:
                    result = monitor.process(Window(name=path.stem, features=data.load_csv(path)))
                    event = FolderEvent("window", path.name, result=result)
            except SmallSampleError as exc:
                event = FolderEvent("small", path.name, str(exc))
            except DataError as exc:
                quarantine(path, str(exc))
                yield FolderEvent("quarantined", path.name, str(exc))
                continue
            state.files[path.name] = digest
            monitor.save(state)
            yield event
        if not follow:
            return
        time.sleep(poll)
