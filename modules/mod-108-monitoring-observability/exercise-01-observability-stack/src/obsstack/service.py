"""The demo ML service: a small classifier that emits all three signals.

- **Metrics** (Prometheus, ``/metrics``): RED per route (``obsstack_http_requests_total``,
  ``obsstack_http_request_duration_seconds``), saturation (``obsstack_inflight_requests``),
  and model metrics (predictions per class, score distribution, inputs out of the training
  range, the model version as an info metric).
- **Traces** (OpenTelemetry, OTLP/HTTP to the collector): a server span per request with
  child spans for validation and inference; the trace id is returned in ``X-Trace-Id``.
- **Logs**: structured JSON on stderr, and the same records as OTLP log records (with the
  trace and span id) to the collector, so a log line leads to its trace and back.

``POST /admin/faults`` injects failures (an error ratio, extra latency): how the demo and the
end-to-end test make the SLO burn.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Response
from prometheus_client import Counter, Gauge, Histogram, Info
from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.apidocs import document_framework_errors
from aiinfra_shared.httpapi import safe_validation_errors
from aiinfra_shared.jsontypes import JsonFloat, NumberOnly
from aiinfra_shared.metrics import instrument_app, new_registry

logger = logging.getLogger("obsstack.service")
SERVICE = "ml-api"
MODEL_VERSION = "2026.12.1"
#: Logistic regression over four features (e.g. a fraud score); the training ranges drive the
#: out-of-range counter, a simple data-quality signal.
WEIGHTS = (1.8, -0.9, 0.6, 1.2)
BIAS = -0.3
TRAINING_RANGE = (-5.0, 5.0)

Finite = Annotated[JsonFloat, Field(ge=-1e6, le=1e6)]


class PredictRequest(BaseModel):
    """Four finite features."""

    model_config = ConfigDict(extra="forbid")
    features: list[Finite] = Field(min_length=4, max_length=4)


class Prediction(BaseModel):
    """Class, probability of class 1, model version and the request's trace id."""

    label: int
    score: float
    model_version: str
    trace_id: str


class Faults(BaseModel):
    """Failures to inject: a share of /predict answered 500, and extra latency."""

    model_config = ConfigDict(extra="forbid")
    error_rate: Annotated[JsonFloat, Field(ge=0.0, le=1.0)] = 0.0
    latency_ms: Annotated[int, Field(ge=0, le=5000), NumberOnly] = 0


class ModelError(RuntimeError):
    """An injected inference failure."""


def _telemetry(endpoint: str | None) -> tuple[Any, Any]:
    """Tracer provider and logging handler exporting OTLP/HTTP to ``endpoint`` (or nowhere)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": SERVICE, "service.version": MODEL_VERSION})
    tracer_provider = TracerProvider(resource=resource)
    handler = None
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        base = endpoint.rstrip("/")
        tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(f"{base}/v1/traces"), schedule_delay_millis=500)
        )
        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(OTLPLogExporter(f"{base}/v1/logs"), schedule_delay_millis=500)
        )
        handler = LoggingHandler(level=logging.INFO, logger_provider=logger_provider)
    return tracer_provider, handler


class TraceIds(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` of the current span to every record (JSON logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        from opentelemetry import trace

        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = f"{ctx.trace_id:032x}"
            record.span_id = f"{ctx.span_id:016x}"
        return True


def create_app(otlp_endpoint: str | None = None, *, seed: int | None = None) -> FastAPI:
    """The service.

    Args:
        otlp_endpoint: OTLP/HTTP base of the collector (default ``$OTEL_EXPORTER_OTLP_ENDPOINT``;
            none: traces are made but not exported, logs only on stderr).
        seed: Seed of the fault injector's coin (tests).
    """
    endpoint = otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    tracer_provider, otlp_handler = _telemetry(endpoint)
    tracer = tracer_provider.get_tracer("obsstack.service")
    coin = random.Random(seed)  # noqa: S311 (fault injection, not security)
    faults = Faults()
    registry = new_registry()
    inflight = Gauge("obsstack_inflight_requests", "Requests being served now.", registry=registry)
    predictions = Counter(
        "obsstack_model_predictions_total",
        "Predictions by class.",
        ("model_version", "label"),
        registry=registry,
    )
    scores = Histogram(
        "obsstack_model_score",
        "Distribution of the predicted probability of class 1.",
        ("model_version",),
        buckets=tuple(i / 10 for i in range(1, 11)),
        registry=registry,
    )
    out_of_range = Counter(
        "obsstack_model_input_out_of_range_total",
        "Features outside the training range, by feature index.",
        ("feature",),
        registry=registry,
    )
    failures = Counter(
        "obsstack_model_failures_total",
        "Inference failures by reason.",
        ("reason",),
        registry=registry,
    )
    Info("obsstack_model", "The model being served.", registry=registry).info(
        {"version": MODEL_VERSION, "algorithm": "logistic-regression"}
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ids = TraceIds()
        logger.addFilter(ids)
        if otlp_handler is not None:
            logger.addHandler(otlp_handler)
        logger.setLevel(logging.INFO)
        logger.info("service started", extra={"model_version": MODEL_VERSION})
        try:
            yield
        finally:
            logger.removeFilter(ids)
            if otlp_handler is not None:
                logger.removeHandler(otlp_handler)
                otlp_handler.flush()
                otlp_handler._logger_provider.shutdown()
            tracer_provider.shutdown()

    app = FastAPI(
        title="obsstack demo ML service",
        version=MODEL_VERSION,
        description="A classifier instrumented with metrics, traces and structured logs.",
        lifespan=lifespan,
    )

    def infer(features: list[float]) -> tuple[int, float]:
        with tracer.start_as_current_span("model.predict") as span:
            span.set_attribute("model.version", MODEL_VERSION)
            if faults.error_rate and coin.random() < faults.error_rate:
                failures.labels("injected").inc()
                raise ModelError("inference backend unavailable (injected fault)")
            z = BIAS + sum(w * x for w, x in zip(WEIGHTS, features, strict=True))
            score = 1 / (1 + math.exp(-max(-60.0, min(60.0, z))))
            span.set_attribute("model.score", score)
            return int(score >= 0.5), score

    @app.post(
        "/predict",
        responses={500: {"description": "Inference failed (e.g. an injected fault)."}},
    )
    async def predict(request: PredictRequest, response: Response) -> Prediction:
        """Classify one feature vector."""
        inflight.inc()
        try:
            with tracer.start_as_current_span("POST /predict", kind=_server_kind()) as span:
                trace_id = f"{span.get_span_context().trace_id:032x}"
                response.headers["X-Trace-Id"] = trace_id
                with tracer.start_as_current_span("validate"):
                    for i, x in enumerate(request.features):
                        if not TRAINING_RANGE[0] <= x <= TRAINING_RANGE[1]:
                            out_of_range.labels(str(i)).inc()
                            logger.warning(
                                "feature %d = %g is outside the training range",
                                i,
                                x,
                                extra={"feature": i},
                            )
                if faults.latency_ms:
                    await asyncio.sleep(faults.latency_ms / 1000)
                try:
                    label, score = infer(request.features)
                except ModelError as exc:
                    span.set_status(_error_status(str(exc)))
                    logger.error("prediction failed: %s", exc)
                    raise HTTPException(
                        500, detail=f"prediction failed: {exc}", headers={"X-Trace-Id": trace_id}
                    ) from None
                predictions.labels(MODEL_VERSION, str(label)).inc()
                scores.labels(MODEL_VERSION).observe(score)
                logger.info("predicted %d (score %.3f)", label, score, extra={"label": label})
                return Prediction(
                    label=label, score=score, model_version=MODEL_VERSION, trace_id=trace_id
                )
        finally:
            inflight.dec()

    @app.get("/admin/faults")
    def get_faults() -> Faults:
        """The failures being injected now."""
        return faults

    @app.put("/admin/faults")
    def set_faults(new: Faults) -> Faults:
        """Inject failures (``{"error_rate": 0.5}``); ``{}`` stops them."""
        nonlocal faults
        faults = new
        logger.warning("faults set: error_rate=%g latency_ms=%d", new.error_rate, new.latency_ms)
        return faults

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok", "model_version": MODEL_VERSION}

    safe_validation_errors(app)
    document_framework_errors(app)
    instrument_app(app, prefix="obsstack", registry=registry)
    return app


def _server_kind() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.SERVER


def _error_status(message: str) -> Any:
    from opentelemetry.trace import Status, StatusCode

    return Status(StatusCode.ERROR, message)
