"""The job registry: one JSON line per finished job or tuning run, under the storage folder.

``trainplat status`` reads it; Ray's own results (checkpoints, ``result.json`` per run) stay in
Ray's layout next to it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

REGISTRY = "jobs.jsonl"


def record(storage: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Append ``entry`` (with a timestamp) and return it."""
    storage.mkdir(parents=True, exist_ok=True)
    entry = {"recorded": time.time(), **entry}
    with (storage / REGISTRY).open("a") as sink:
        sink.write(json.dumps(entry, default=str) + "\n")
    return entry


def entries(storage: Path) -> list[dict[str, Any]]:
    """Every recorded job, oldest first (a damaged line is skipped, not fatal)."""
    path = storage / REGISTRY
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
