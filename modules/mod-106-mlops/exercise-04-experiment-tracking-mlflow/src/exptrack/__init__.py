"""106-04: experiment tracking and a model registry with gated alias promotion, on MLflow."""

from __future__ import annotations

__version__ = "0.1.0"
