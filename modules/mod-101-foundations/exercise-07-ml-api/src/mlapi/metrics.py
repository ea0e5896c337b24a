"""The service's own Prometheus metrics (HTTP metrics come from aiinfra_shared.metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from aiinfra_shared.metrics import latency_histogram
from mlapi.data import CLASSES
from mlapi.schemas import MAX_BATCH


class ApiMetrics:
    """Metric objects of one app instance, all in that instance's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.predictions = Counter(
            "mlapi_predictions_total",
            "Predictions served, by predicted class.",
            ("label",),
            registry=registry,
        )
        # One child per class, looked up once: labels() costs a lock and a dict per call.
        self.per_class = [self.predictions.labels(label) for label in CLASSES]
        self.inference = latency_histogram(
            "mlapi_model_inference_seconds",
            "Time per model call (one call serves a batch).",
            registry,
        )
        self.batch_size = Histogram(
            "mlapi_batch_size_rows",
            "Rows per predict request.",
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, MAX_BATCH),
        )
        self.model_batch = Histogram(
            "mlapi_model_batch_rows",
            "Rows per model call: the rows of every request batched into it.",
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096),
        )
        self.model_loaded = Gauge(
            "mlapi_model_loaded", "1 when a model is loaded and served, else 0.", registry=registry
        )
        self.reloads = Counter(
            "mlapi_model_reloads_total", "Admin reloads, by result.", ("result",), registry=registry
        )
        self.rejected = Counter(
            "mlapi_invalid_requests_total",
            "Requests refused with 422 (a field out of range, not a number, unknown...).",
            registry=registry,
        )
