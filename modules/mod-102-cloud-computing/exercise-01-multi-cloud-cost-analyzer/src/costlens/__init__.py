"""102-01: Multi-cloud cost analyzer: AWS CUR, GCP and Azure billing exports normalized to FOCUS in
DuckDB, anomalies, forecasts, recommendations, an HTML dashboard and a scheduled digest
"""

from __future__ import annotations

__version__ = "0.1.0"
