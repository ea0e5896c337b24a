"""007-06: End-to-end ML pipeline: ingest, validate, features, train, evaluate, register, serve"""

from __future__ import annotations

__version__ = "0.1.0"
