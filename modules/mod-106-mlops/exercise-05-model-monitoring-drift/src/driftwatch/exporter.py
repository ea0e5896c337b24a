"""The monitor's results as Prometheus metrics, on a ``/metrics`` endpoint Prometheus scrapes.

Names follow ``driftwatch_<what>_<unit>``; every series is a gauge of the latest window except
the counters. The rules in ``rules/driftwatch.rules.yml`` alert on them.
"""

from __future__ import annotations

import threading
import time
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from aiinfra_shared.metrics import new_registry
from driftwatch.analysis import DriftSummary
from driftwatch.performance import Performance


class DriftMetrics:
    """Gauges and counters of one monitor, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or new_registry()
        r = self.registry
        self.feature_score = Gauge(
            "driftwatch_feature_drift_score",
            "Drift test value per feature (a p-value or a distance: see the method label).",
            ("feature", "method"),
            registry=r,
        )
        self.feature_threshold = Gauge(
            "driftwatch_feature_drift_threshold",
            "Threshold the feature's drift test used.",
            ("feature", "method"),
            registry=r,
        )
        self.feature_drifted = Gauge(
            "driftwatch_feature_drifted",
            "1 when the feature drifted in the latest window, else 0.",
            ("feature",),
            registry=r,
        )
        self.missing_share = Gauge(
            "driftwatch_feature_missing_ratio",
            "Share of missing values per feature in the latest window.",
            ("feature",),
            registry=r,
        )
        self.new_categories = Gauge(
            "driftwatch_feature_new_categories",
            "Categories of the latest window never seen in the reference, per feature.",
            ("feature",),
            registry=r,
        )
        self.dataset_drift = Gauge(
            "driftwatch_dataset_drift", "1 when the latest window drifted as a whole.", registry=r
        )
        self.drift_share = Gauge(
            "driftwatch_drift_share_ratio", "Share of drifted features, latest window.", registry=r
        )
        self.window_rows = Gauge("driftwatch_window_rows", "Rows in the latest window.", registry=r)
        self.last_window = Gauge(
            "driftwatch_last_window_timestamp_seconds",
            "Unix time the latest window was analysed.",
            registry=r,
        )
        self.windows = Counter(
            "driftwatch_windows_analyzed", "Windows analysed.", ("drift",), registry=r
        )
        self.accuracy = Gauge(
            "driftwatch_model_accuracy", "Accuracy over the labels arrived so far.", registry=r
        )
        self.f1 = Gauge("driftwatch_model_f1", "F1 over the labels arrived so far.", registry=r)
        self.baseline_accuracy = Gauge(
            "driftwatch_model_baseline_accuracy",
            "Accuracy of the model on its reference data.",
            registry=r,
        )
        self.label_coverage = Gauge(
            "driftwatch_label_coverage_ratio",
            "Share of the evaluated predictions whose label has arrived.",
            registry=r,
        )
        self.retrain_requests = Counter(
            "driftwatch_retrain_requests", "Retrain requests decided by the policy.", registry=r
        )
        self.retrain_pending = Gauge(
            "driftwatch_retrain_requests_pending",
            "Retrain requests not yet delivered by every hook.",
            registry=r,
        )

    def record_drift(self, summary: DriftSummary) -> None:
        """Publish one window's drift summary."""
        self.feature_score.clear()
        self.feature_threshold.clear()
        for col in summary.columns:
            self.feature_score.labels(col.column, col.method).set(col.score)
            self.feature_threshold.labels(col.column, col.method).set(col.threshold)
            self.feature_drifted.labels(col.column).set(int(col.drifted))
        for feature, share in summary.missing_share.items():
            self.missing_share.labels(feature).set(share)
            self.new_categories.labels(feature).set(len(summary.new_categories.get(feature, [])))
        self.dataset_drift.set(int(summary.dataset_drift))
        self.drift_share.set(summary.drift_share)
        self.window_rows.set(summary.rows)
        self.last_window.set(time.time())
        self.windows.labels("true" if summary.dataset_drift else "false").inc()

    def record_performance(self, perf: Performance) -> None:
        """Publish the performance from late labels (nothing when no label arrived yet)."""
        self.label_coverage.set(perf.coverage)
        if perf.accuracy is not None:
            self.accuracy.set(perf.accuracy)
        if perf.f1 is not None:
            self.f1.set(perf.f1)


class MetricsServer:
    """``/metrics`` of a registry on a loopback (or given) address, in a daemon thread."""

    def __init__(self, registry: CollectorRegistry, *, port: int = 0, host: str = "127.0.0.1"):
        self._server: WSGIServer
        self._thread: threading.Thread
        self._server, self._thread = start_http_server(port, addr=host, registry=registry)
        self.host = host
        self.port = int(self._server.server_port)

    @property
    def target(self) -> str:
        """``host:port``, what a Prometheus scrape config lists."""
        return f"{self.host}:{self.port}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
