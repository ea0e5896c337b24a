"""Connect to Ray: a cluster address (KubeRay, ``ray start``), or a local instance."""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

_dashboard: str | None = None

# Read by Ray when it is imported, so set before any `import ray`: started under `uv run` (as
# `uv run aiinfra run ...` does), Ray would start its workers with `uv run` in the current
# project, the workspace root, whose environment has no ray: they died at import. The workers
# must use this interpreter's environment.
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")


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
    # Tune snapshots its state after every checkpoint of a short trial and warns about it.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    if address:
        ray.init(address=address, logging_level=logging.WARNING)
        return
    global _dashboard
    context = ray.init(
        num_cpus=num_cpus or os.cpu_count() or 2,
        # The dashboard (127.0.0.1:8265) also serves the state API that Ray Train's
        # placement-group cleaner polls: without it, that thread logs a warning every second.
        include_dashboard=True,
        _temp_dir=str(temp_dir) if temp_dir else None,
        logging_level=logging.WARNING,
    )
    url = getattr(context, "dashboard_url", None)
    _dashboard = f"http://{url}" if url else None


def dashboard_url() -> str | None:
    """The Ray dashboard of the local instance this process started, if any."""
    return _dashboard


def disconnect() -> None:
    """Leave (and, if local, stop) Ray."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
