"""A versioned model registry on the file system: what the ``register`` and ``deploy`` tasks use.

Layout under ``<home>/models/<name>/``::

    v0001/model.joblib        the fitted estimator
    v0001/feature_spec.json   what batch inference needs to build the same features
    v0001/metadata.json       params, metrics, data, the DAG run that made it, mlflow run id
    current.json              {"version": 1, ...}: the deployed version (moved by ``deploy``)

Versions are never overwritten; ``current.json`` is replaced atomically (write, then rename),
and a lock file serialises two registrations racing for the next number. The files are pickles
written by this pipeline: load only a registry you trust.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflowml.errors import AirflowmlError, NoModelError


@dataclass(frozen=True)
class ModelVersion:
    """One registered version."""

    name: str
    version: int
    path: Path
    metadata: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.path / "model.joblib"

    @property
    def spec_path(self) -> Path:
        return self.path / "feature_spec.json"


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    Path(tmp).replace(path)


class ModelRegistry:
    """The registry of one model name."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root / name
        self.name = name

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def versions(self) -> list[ModelVersion]:
        """Every registered version, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(self.root.glob("v[0-9][0-9][0-9][0-9]")):
            meta = folder / "metadata.json"
            if meta.is_file():
                found.append(
                    ModelVersion(
                        self.name, int(folder.name[1:]), folder, json.loads(meta.read_text())
                    )
                )
        return found

    def get(self, version: int) -> ModelVersion:
        for found in self.versions():
            if found.version == version:
                return found
        raise AirflowmlError(f"model {self.name} has no version {version}")

    def register(self, model_path: Path, spec_path: Path, metadata: dict[str, Any]) -> ModelVersion:
        """Copy a model and its feature spec in as the next version (not deployed yet)."""
        with self._locked():
            existing = self.versions()
            version = existing[-1].version + 1 if existing else 1
            staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
            shutil.copy2(model_path, staging / "model.joblib")
            shutil.copy2(spec_path, staging / "feature_spec.json")
            meta = {
                **metadata,
                "name": self.name,
                "version": version,
                "registered_at": datetime.now(UTC).isoformat(),
            }
            (staging / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
            final = self.root / f"v{version:04d}"
            staging.rename(final)
        return ModelVersion(self.name, version, final, meta)

    def current(self) -> ModelVersion | None:
        """The deployed version, or None before the first deployment."""
        pointer = self.root / "current.json"
        if not pointer.is_file():
            return None
        return self.get(int(json.loads(pointer.read_text())["version"]))

    def require_current(self) -> ModelVersion:
        found = self.current()
        if found is None:
            raise NoModelError(
                f"model {self.name} has no deployed version yet: run ml_training_pipeline first"
            )
        return found

    def deploy(self, version: int, reason: str) -> ModelVersion:
        """Point ``current.json`` at a registered version (atomically)."""
        with self._locked():
            target = self.get(version)
            previous = self.current()
            _write_json_atomic(
                self.root / "current.json",
                {
                    "version": version,
                    "previous": previous.version if previous else None,
                    "reason": reason,
                    "deployed_at": datetime.now(UTC).isoformat(),
                },
            )
        return target
