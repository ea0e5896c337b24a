"""Connect to Ray: a cluster address (KubeRay, ``ray start``), or a local instance."""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


def connect(
    address: str | None = None, *, num_cpus: int | None = None, temp_dir: Path | None = None
) -> None:
    """Join ``address``, or start a local Ray on loopback (once per process).

    Args:
        address: ``auto`` / ``ray://host:10001`` for an existing cluster; None: local.
        num_cpus: CPUs of a local instance (default: this machine's).
        temp_dir: Session folder of a local instance (logs, sockets).
    """
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        ray.init(address=address, logging_level=logging.WARNING)
        return
    ray.init(
        num_cpus=num_cpus or os.cpu_count() or 2,
        include_dashboard=False,
        _temp_dir=str(temp_dir) if temp_dir else None,
        logging_level=logging.WARNING,
    )


def disconnect() -> None:
    """Leave (and, if local, stop) Ray."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
