"""Prometheus metrics of an LLM server: latency per token, throughput, queue, batch, KV cache,
and what each request cost.

The engine reports through :class:`LlmMetrics` (an ``EngineObserver``); queue, batch and
KV-cache reservations are read from the engine at scrape time by :class:`EngineCollector`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from threading import Lock

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from llmserve.engine import Engine, Usage

TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ITL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256)
COST_BUCKETS = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)


def request_cost(usage: Usage, cost_per_hour: float) -> float:
    """Dollars one request cost: its share of engine time at the machine's hourly price."""
    return usage.compute_seconds * cost_per_hour / 3600


class LlmMetrics:
    """The engine-side metrics, on the app's registry."""

    def __init__(
        self, registry: CollectorRegistry, cost_per_hour: float, window: float = 10.0
    ) -> None:
        self.cost_per_hour = cost_per_hour
        self.ttft = Histogram(
            "llmserve_time_to_first_token_seconds",
            "Arrival to first token.",
            registry=registry,
            buckets=TTFT_BUCKETS,
        )
        self.itl = Histogram(
            "llmserve_inter_token_latency_seconds",
            "Gap between consecutive tokens of one request.",
            registry=registry,
            buckets=ITL_BUCKETS,
        )
        self.batch = Histogram(
            "llmserve_batch_size",
            "Sequences per decode step.",
            registry=registry,
            buckets=BATCH_BUCKETS,
        )
        self.kv_usage = Gauge(
            "llmserve_kv_cache_usage_ratio",
            "Tokens held in the KV cache over its budget, at the last step.",
            registry=registry,
        )
        self.throughput = Gauge(
            "llmserve_generation_tokens_per_second",
            f"Tokens generated per second over the last {window:.0f} s.",
            registry=registry,
        )
        self.prompt_tokens = Counter(
            "llmserve_prompt_tokens_total", "Prompt tokens processed.", registry=registry
        )
        self.generated = Counter(
            "llmserve_generation_tokens_total", "Tokens generated.", registry=registry
        )
        self.finished_total = Counter(
            "llmserve_requests_finished_total",
            "Requests ended, by finish reason.",
            ("finish_reason",),
            registry=registry,
        )
        self.cost = Histogram(
            "llmserve_request_cost_dollars",
            "Estimated cost of a request (its share of engine time).",
            registry=registry,
            buckets=COST_BUCKETS,
        )
        self.rejected = Counter(
            "llmserve_requests_rejected_total",
            "Requests refused before generation, by reason.",
            ("reason",),
            registry=registry,
        )
        self._window = window
        self._steps: deque[tuple[float, int]] = deque()
        self._lock = Lock()

    def queue_depth(self, waiting: int) -> None:
        """(Read at scrape time from the engine instead.)"""

    def first_token(self, seconds: float) -> None:
        """Time to first token."""
        self.ttft.observe(seconds)

    def inter_token(self, seconds: float) -> None:
        """Inter-token latency."""
        self.itl.observe(seconds)

    def step(self, batch_size: int, seconds: float, kv_tokens: int, kv_capacity: int) -> None:
        """One decode step: batch size, KV use, and the throughput window."""
        self.batch.observe(batch_size)
        self.kv_usage.set(kv_tokens / kv_capacity if kv_capacity else 0.0)
        now = time.monotonic()
        with self._lock:
            self._steps.append((now, batch_size))
            while self._steps and self._steps[0][0] < now - self._window:
                self._steps.popleft()
            span = max(now - self._steps[0][0], seconds, 1e-3)
            self.throughput.set(sum(n for _, n in self._steps) / span)
        self.generated.inc(batch_size)

    def finished(self, reason: str, usage: Usage) -> None:
        """A request ended: tokens, finish reason, cost."""
        self.prompt_tokens.inc(usage.prompt_tokens)
        self.finished_total.labels(reason).inc()
        self.cost.observe(request_cost(usage, self.cost_per_hour))


class EngineCollector(Collector):
    """Queue depth, running requests and KV reservations, read from the engine per scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """One scrape."""
        stats = self.engine.stats()
        yield GaugeMetricFamily(
            "llmserve_queue_depth", "Requests waiting for a batch slot.", stats.waiting
        )
        yield GaugeMetricFamily(
            "llmserve_running_requests", "Requests in the running batch.", stats.running
        )
        yield GaugeMetricFamily(
            "llmserve_kv_cache_reserved_tokens",
            "KV-cache tokens reserved by running requests.",
            stats.kv_tokens,
        )
        yield GaugeMetricFamily(
            "llmserve_max_batch_size", "Configured batch size.", stats.max_batch_size
        )
