"""OpenTelemetry for the gateway and the backends: one trace from the client's request to the
model server, exported over OTLP to a collector (``aiinfra_shared.services.otel``: Rotel).

The gateway opens a SERVER span per request and a CLIENT span per backend call, and injects
the W3C ``traceparent`` header into the call; a backend extracts it and opens its own SERVER
span as the child. A batched call serves many requests, so its span carries a *link* to each
request's span (the OpenTelemetry way to say "this work was on behalf of those").

``OTEL_EXPORTER_OTLP_ENDPOINT`` turns export on (``http://127.0.0.1:4318``); without it spans
are created and dropped. Tests can pass their own exporter.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter


def tracer_provider(service: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider for ``service``: exports to ``exporter``, else to the OTLP endpoint in the
    environment, else nowhere. Shut it down on exit so the last spans are flushed."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if exporter is None and endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    if exporter is not None:
        # Short delay: spans reach the collector within half a second, fine for a demo.
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    return provider


def trace_id(span: Any) -> str:
    """A span's trace id as the 32 hex digits collectors print."""
    return format(span.get_span_context().trace_id, "032x")
