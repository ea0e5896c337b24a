"""108-01: Observability stack: Prometheus, Alertmanager, exporters, OTLP traces and logs,
burn-rate alerts end to end
"""

from __future__ import annotations

__version__ = "0.1.0"
