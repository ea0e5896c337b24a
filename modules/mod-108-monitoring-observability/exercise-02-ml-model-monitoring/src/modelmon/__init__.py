"""108-02: ML model monitoring: an instrumented service, a custom exporter, promtool-tested rules, a generated dashboard"""

from __future__ import annotations

__version__ = "0.1.0"
