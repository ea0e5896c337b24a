"""aiinfra-shared: the helpers every aiinfra-solutions package builds on.

Modules:
    config: a pydantic-settings base class with a per-package env prefix and ``.env`` support.
    logging: one ``configure()`` for pretty console logs or JSON (``LOG_FORMAT=json``).
    metrics: prometheus-client helpers (registry, ``/metrics`` ASGI app, buckets, timing).
    services: launchers that start real components as local subprocesses on loopback.
    testing: the pytest plugin (markers, GPU skips, one fixture per service launcher).
    cli: the root ``aiinfra`` command.
"""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError

__all__ = ["AiinfraError", "__version__"]
__version__ = "0.1.0"
