"""108-02: ML model monitoring: an instrumented service, a custom exporter, tested rules."""

from __future__ import annotations

__version__ = "0.1.0"
