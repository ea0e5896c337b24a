"""202: a model-serving platform: a gateway with A/B and canary splits, batching, SSE
streaming, circuit breakers and traces."""

from __future__ import annotations

__version__ = "0.1.0"
