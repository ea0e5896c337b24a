"""106-05: Drift monitoring: Evidently reports, Prometheus metrics and a retraining trigger"""

from __future__ import annotations

__version__ = "0.1.0"
