"""Prometheus metrics of the gateway: per route and variant, per backend, breakers, batching,
shadow traffic and cost."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.registry import CollectorRegistry

from aiinfra_shared.metrics import latency_histogram
from servplat.breaker import STATE_VALUE


class GatewayMetrics:
    """Every metric the gateway exports, on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "servplat_requests_total",
            "Requests by route, variant and status.",
            ("route", "variant", "status"),
            registry=registry,
        )
        self.duration = latency_histogram(
            "servplat_request_duration_seconds",
            "Gateway request latency (non-streamed).",
            registry,
            ("route", "variant"),
        )
        self.backend = latency_histogram(
            "servplat_backend_duration_seconds", "Backend call latency.", registry, ("backend",)
        )
        self.overhead = latency_histogram(
            "servplat_gateway_overhead_seconds",
            "Request time not spent in the backend call.",
            registry,
            ("route",),
        )
        self.breaker_state = Gauge(
            "servplat_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open.",
            ("backend",),
            registry=registry,
        )
        self.transitions = Counter(
            "servplat_breaker_transitions_total",
            "Breaker state changes.",
            ("backend", "state"),
            registry=registry,
        )
        self.fallbacks = Counter(
            "servplat_fallbacks_total",
            "Requests moved to another variant (breaker open or failure).",
            ("route",),
            registry=registry,
        )
        self.batch_size = Histogram(
            "servplat_batch_size",
            "Predictions per backend call.",
            ("backend",),
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
        )
        self.shadow = Counter(
            "servplat_shadow_requests_total",
            "Mirrored requests by outcome (agree, disagree, error, skipped).",
            ("route", "outcome"),
            registry=registry,
        )
        self.cost = Counter(
            "servplat_cost_dollars_total",
            "Estimated cost of answered requests.",
            ("route", "variant"),
            registry=registry,
        )

    def breaker_changed(self, backend: str, state: str) -> None:
        """Hook for :class:`~servplat.breaker.CircuitBreaker`."""
        self.breaker_state.labels(backend).set(STATE_VALUE[state])
        self.transitions.labels(backend, state).inc()
