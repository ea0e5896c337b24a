"""106-06: CI/CD for ML: DVC-versioned data, quality gates, workflows, canary deploy with automatic
rollback
"""

from __future__ import annotations

__version__ = "0.1.0"
