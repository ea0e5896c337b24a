"""What the service exports: request-time instruments and a custom collector of ML statistics.

Two kinds of metric, on purpose:

- **instrumented** at request time (counters and histograms): prediction latency, predictions
  by class, the score distribution, errors by type, ground-truth feedback;
- **collected** at scrape time by :class:`OnlineStatsCollector`, a Prometheus ``Collector``
  that computes from the recent window: online accuracy from the delayed labels, the
  positive-prediction rate, each input feature's mean, standard deviation, share outside
  the training range, and population stability index against the training distribution (a
  distribution test: it sees a shape that changes while the mean stays put). Computing these
  per request would be wasted work; at scrape time they cost one pass over a bounded window.

Every name here is listed in :data:`EXPORTED`; the dashboard and the rules are tested against
that list and against a live scrape.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aiinfra_shared.metrics import latency_histogram
from modelmon.model import FEATURES, FraudModel, psi

#: Rows a window needs before its PSI is exported (ten bins: fewer rows are noise).
PSI_MIN_ROWS = 100

SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

#: Every metric family the service exports (names as scraped, counters with ``_total``).
EXPORTED = (
    "modelmon_prediction_latency_seconds",
    "modelmon_predictions_total",
    "modelmon_prediction_score",
    "modelmon_prediction_errors_total",
    "modelmon_feedback_total",
    "modelmon_feedback_delay_seconds",
    "modelmon_model_info",
    "modelmon_model_reference_accuracy",
    "modelmon_model_reference_positive_rate",
    "modelmon_online_accuracy",
    "modelmon_online_labelled_predictions",
    "modelmon_online_positive_rate",
    "modelmon_feature_mean",
    "modelmon_feature_stddev",
    "modelmon_feature_out_of_range_ratio",
    "modelmon_feature_psi",
    "modelmon_pending_predictions",
    "modelmon_http_requests_total",
    "modelmon_http_request_duration_seconds",
)

ERROR_TYPES = ("validation", "model", "injected", "internal")


@dataclass(frozen=True)
class Pending:
    """A prediction waiting for its label."""

    predicted: int
    at: float


class OnlineStats:
    """Bounded windows of recent inputs, predictions and labelled outcomes (thread-safe)."""

    def __init__(self, window: int, pending_limit: int) -> None:
        self._lock = threading.Lock()
        self.inputs: deque[np.ndarray] = deque(maxlen=window)
        self.predicted: deque[int] = deque(maxlen=window)
        self.outcomes: deque[bool] = deque(maxlen=window)
        self.pending: OrderedDict[str, Pending] = OrderedDict()
        self.pending_limit = pending_limit
        self.evicted = 0

    def record_prediction(self, prediction_id: str, row: np.ndarray, predicted: int) -> None:
        """Remember an input and its prediction (until its label arrives, or eviction)."""
        with self._lock:
            self.inputs.append(row)
            self.predicted.append(predicted)
            self.pending[prediction_id] = Pending(predicted, time.monotonic())
            while len(self.pending) > self.pending_limit:
                self.pending.popitem(last=False)
                self.evicted += 1

    def record_label(self, prediction_id: str, label: int) -> tuple[bool, float] | None:
        """Join a delayed label; returns (correct, delay seconds), or None for an unknown id."""
        with self._lock:
            waiting = self.pending.pop(prediction_id, None)
            if waiting is None:
                return None
            correct = waiting.predicted == label
            self.outcomes.append(correct)
            return correct, time.monotonic() - waiting.at

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Copies of the windows: inputs, predictions, outcomes; and the pending count."""
        with self._lock:
            inputs = np.array(self.inputs) if self.inputs else np.empty((0, len(FEATURES)))
            return (
                inputs,
                np.array(self.predicted, dtype=float),
                np.array(self.outcomes, dtype=float),
                len(self.pending),
            )


class OnlineStatsCollector(Collector):
    """Scrape-time ML statistics over the recent window (a custom Prometheus collector)."""

    def __init__(self, stats: OnlineStats, model: FraudModel) -> None:
        self.stats = stats
        self.model = model

    def describe(self) -> Iterator[Metric]:
        """No up-front description: families are built per scrape."""
        return iter(())

    def collect(self) -> Iterator[Metric]:
        """Compute and yield the families from the current window."""
        inputs, predicted, outcomes, pending = self.stats.snapshot()
        version = self.model.version
        labelled = GaugeMetricFamily(
            "modelmon_online_labelled_predictions",
            "Predictions in the window whose ground truth has arrived.",
            labels=["model_version"],
        )
        labelled.add_metric([version], len(outcomes))
        yield labelled
        if len(outcomes):
            acc = GaugeMetricFamily(
                "modelmon_online_accuracy",
                "Accuracy over the most recent predictions whose label arrived.",
                labels=["model_version"],
            )
            acc.add_metric([version], float(outcomes.mean()))
            yield acc
        if len(predicted):
            rate = GaugeMetricFamily(
                "modelmon_online_positive_rate",
                "Share of recent predictions that were positive (fraud).",
                labels=["model_version"],
            )
            rate.add_metric([version], float(predicted.mean()))
            yield rate
        pend = GaugeMetricFamily(
            "modelmon_pending_predictions", "Predictions still waiting for their label."
        )
        pend.add_metric([], pending)
        yield pend
        if not len(inputs):
            return
        mean = GaugeMetricFamily(
            "modelmon_feature_mean",
            "Mean of each input feature, recent window.",
            labels=["feature"],
        )
        std = GaugeMetricFamily(
            "modelmon_feature_stddev",
            "Standard deviation of each input feature, recent window.",
            labels=["feature"],
        )
        out = GaugeMetricFamily(
            "modelmon_feature_out_of_range_ratio",
            "Share of recent inputs outside the feature's training range.",
            labels=["feature"],
        )
        stability = GaugeMetricFamily(
            "modelmon_feature_psi",
            "Population stability index of each feature, recent window against training "
            f"(exported from {PSI_MIN_ROWS} rows on; > 0.25: a significant shift).",
            labels=["feature"],
        )
        for i, name in enumerate(FEATURES):
            column = inputs[:, i]
            low, high = self.model.ranges[name]
            mean.add_metric([name], float(column.mean()))
            std.add_metric([name], float(column.std()))
            out.add_metric([name], float(np.mean((column < low) | (column > high))))
            if len(column) >= PSI_MIN_ROWS and name in self.model.bins:
                stability.add_metric([name], psi(column, *self.model.bins[name]))
        yield from (mean, std, out, stability)


class ModelMetrics:
    """All of the service's instruments, in one registry."""

    def __init__(self, registry: CollectorRegistry, model: FraudModel, stats: OnlineStats):
        self.latency = latency_histogram(
            "modelmon_prediction_latency_seconds",
            "Time to score one request (model call included).",
            registry,
            ("model_version",),
        )
        self.predictions = Counter(
            "modelmon_predictions",
            "Predictions by predicted class.",
            ("model_version", "predicted_class"),
            registry=registry,
        )
        self.score = Histogram(
            "modelmon_prediction_score",
            "Distribution of the fraud score.",
            ("model_version",),
            registry=registry,
            buckets=SCORE_BUCKETS,
        )
        self.errors = Counter(
            "modelmon_prediction_errors",
            "Failed prediction requests by error type.",
            ("type",),
            registry=registry,
        )
        for kind in ERROR_TYPES:
            self.errors.labels(kind)  # export zeros, so rate() has a series from the start
        self.feedback = Counter(
            "modelmon_feedback",
            "Ground-truth labels received, by outcome.",
            ("outcome",),
            registry=registry,
        )
        for outcome in ("correct", "wrong", "unknown_id"):
            self.feedback.labels(outcome)
        self.feedback_delay = Histogram(
            "modelmon_feedback_delay_seconds",
            "Time between a prediction and its label.",
            registry=registry,
            buckets=(1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86400),
        )
        info = Info("modelmon_model", "The model being served.", registry=registry)
        info.info(
            {
                "version": model.version,
                "trained_at": model.trained_at,
                "features": ",".join(FEATURES),
            }
        )
        Gauge(
            "modelmon_model_reference_accuracy",
            "Accuracy of the model on its training data.",
            registry=registry,
        ).set(model.reference_accuracy)
        Gauge(
            "modelmon_model_reference_positive_rate",
            "Positive-prediction rate of the model on its training data.",
            registry=registry,
        ).set(model.reference_positive_rate)
        registry.register(OnlineStatsCollector(stats, model))
