"""An OpenTelemetry collector on loopback: Rotel, the Rust collector the ``rotel`` wheel carries.

Applications export OTLP to it (HTTP on ``url``, gRPC on ``extra["grpc"]``; ``env`` sets
``OTEL_EXPORTER_OTLP_ENDPOINT`` for the OpenTelemetry SDK). Rotel has no query API, so it runs
with its *detailed debug log* of traces on stdout, and :func:`collected_spans` parses that log
back into spans: what a test or a demo reads to see a whole trace as the collector received it,
across processes. Other exporters (``--exporter otlp`` to Jaeger or Tempo, ClickHouse, ...)
are one flag away where those backends exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiinfra_shared.services.base import (
    LOOPBACK,
    RunningService,
    ServiceNotInstalledError,
    free_port,
    run_service,
    tcp_open,
    workdir_for,
)

INSTALL_HINT = "the otel extra of aiinfra-shared (it brings the rotel wheel)"


def rotel_binary() -> str:
    """The ``rotel-agent`` executable inside the installed ``rotel`` package (not imported).

    Raises:
        ServiceNotInstalledError: The package is missing.
    """
    import importlib.util

    spec = importlib.util.find_spec("rotel")
    for folder in list(spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "rotel-agent"
        if binary.is_file():
            return str(binary)
    raise ServiceNotInstalledError(f"'rotel-agent' is not installed; install {INSTALL_HINT}")


def _argv(
    binary: str, http: int, grpc: int, workdir: Path, export_to: str | None = None
) -> list[str]:
    flags = {
        "--otlp-http-endpoint": f"{LOOPBACK}:{http}",
        "--otlp-grpc-endpoint": f"{LOOPBACK}:{grpc}",
        "--exporter": "blackhole",  # nothing downstream: the debug log is the record
        "--debug-log": "traces",
        "--debug-log-verbosity": "detailed",
        "--pid-file": str(workdir / "rotel.pid"),
        "--log-file": str(workdir / "rotel-agent.log"),
    }
    if export_to:
        flags |= {
            "--exporter": "otlp",
            "--otlp-exporter-endpoint": export_to.rstrip("/"),
            "--otlp-exporter-protocol": "http",
        }
    return [binary, "start", *(part for item in flags.items() for part in item)]


@contextmanager
def otel_collector(
    *,
    port: int | None = None,
    workdir: Path | str | None = None,
    timeout: float = 20.0,
    export_to: str | None = None,
) -> Iterator[RunningService]:
    """Start Rotel with OTLP/HTTP on ``port`` and OTLP/gRPC on another free port.

    Args:
        port: Fixed OTLP/HTTP port, or None for a free one.
        workdir: Its folder (temporary by default).
        timeout: Seconds to wait until it listens.
        export_to: An OTLP/HTTP base URL (``http://127.0.0.1:PORT``) to forward traces, logs
            and metrics to; by default they are dropped after the debug log.

    Yields:
        The service; ``url`` is ``http://127.0.0.1:PORT`` (the OTLP/HTTP base, spans go to
        ``/v1/traces``), ``env`` sets ``OTEL_EXPORTER_OTLP_ENDPOINT`` and
        ``OTEL_EXPORTER_OTLP_PROTOCOL``, ``extra["grpc"]`` is the gRPC endpoint. Read what it
        received with ``collected_spans(service.log_path)``.
    """
    binary = rotel_binary()
    grpc = free_port()
    with (
        workdir_for("otel", workdir) as wd,
        run_service(
            "otel",
            argv=lambda p: _argv(binary, p, grpc, wd, export_to),
            ready=lambda p: tcp_open(LOOPBACK, p),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            client_env=lambda p: {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{LOOPBACK}:{p}",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            },
            workdir=wd,
            port=port,
            timeout=timeout,
            extra={"grpc": f"{LOOPBACK}:{grpc}"},
        ) as service,
    ):
        yield service


@dataclass
class CollectedSpan:
    """One span as the collector printed it."""

    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: str
    attributes: dict[str, str] = field(default_factory=dict)


_FIELD = re.compile(r"^\s*(Trace ID|Parent ID|ID|Name|Kind)\s*:\s*(.*?)\s*$")
_ATTRS = {
    "Trace ID": "trace_id",
    "Parent ID": "parent_id",
    "ID": "span_id",
    "Name": "name",
    "Kind": "kind",
}
_ATTRIBUTE = re.compile(r"^\s*->\s*([^:]+):\s*\w+\((.*)\)\s*$")


def collected_spans(log_path: Path) -> list[CollectedSpan]:
    """Every span in Rotel's detailed debug log, in the order it printed them.

    The log is blocks of ``ResourceSpans`` (resource attributes, among them ``service.name``)
    holding ``Span #n`` blocks (Trace ID, Parent ID, ID, Name, Kind, then ``Attributes:``).
    """
    spans: list[CollectedSpan] = []
    service = ""
    section = ""
    current: CollectedSpan | None = None
    for raw in log_path.read_text(errors="replace").splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", raw)  # the log's colour codes
        if line.startswith("ResourceSpans"):
            section, current = "resource", None
        elif line.startswith("Span #"):
            current = CollectedSpan(service, "", "", "", "", "")
            spans.append(current)
            section = "span"
        elif line.startswith("Attributes:"):
            section = "attributes"
        elif (match := _ATTRIBUTE.match(line)) is not None:
            key, value = match.group(1).strip(), match.group(2)
            if section == "resource" and key == "service.name":
                service = value
            elif section == "attributes" and current is not None:
                current.attributes[key] = value
        elif current is not None and (match := _FIELD.match(line)) is not None:
            key, value = match.groups()
            setattr(current, _ATTRS[key], value)
    return spans
