from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from costlens.ingest import ingest, ingest_utilization
from costlens.sample import generate
from costlens.store import Store


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default sample exports (seed 7), written once."""
    out = tmp_path_factory.mktemp("exports")
    manifest = generate(out)
    manifest["dir"] = out
    return manifest


@pytest.fixture(scope="session")
def loaded_db(sample: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with every sample export and the utilization loaded, built once."""
    db = tmp_path_factory.mktemp("db") / "costs.duckdb"
    with Store(db) as store:
        ingest(store, str(sample["dir"]))
        ingest_utilization(store, Path(sample["utilization"]))
    return db


@pytest.fixture
def store(loaded_db: Path) -> Store:
    """A read-only view of the loaded store."""
    s = Store(loaded_db, read_only=True)
    yield s
    s.close()


@pytest.fixture
def fresh_db(loaded_db: Path, tmp_path: Path) -> Path:
    """A writable copy of the loaded store."""
    copy = tmp_path / "costs.duckdb"
    shutil.copy(loaded_db, copy)
    return copy
