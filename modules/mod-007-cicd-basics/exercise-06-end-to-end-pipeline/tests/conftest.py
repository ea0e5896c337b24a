"""Fixtures: generated data files, and one registry trained once per test session.

The session registry holds three versions of the model, built by the real pipeline:
v1 (ready), v2 (ready: the champion) and v3 (failed its checklist, and then its model file was
overwritten with garbage, as a broken upload would leave it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from e2epipe import registry
from e2epipe.config import Params, Settings, Thresholds
from e2epipe.data import generate, write
from e2epipe.pipeline import run


@dataclass
class Trained:
    """The session registry."""

    settings: Settings
    data: Path
    corrupt_version: str


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("registry")
    settings = Settings(workdir=root / "work")
    quick = Params(quick=True)
    data = write(generate(1500, seed=3), root / "customers.csv")
    first = run(data, settings, quick)
    second = run(write(generate(1500, seed=4), root / "week2.parquet"), settings, quick)
    assert (first.ready, second.ready) == (True, True)
    impossible = quick.model_copy(update={"thresholds": Thresholds(min_roc_auc=0.999)})
    third = run(data, settings, impossible)
    assert third.version == "3"
    assert not third.ready
    _corrupt(settings, "3")
    return Trained(settings, data, "3")


def _corrupt(settings: Settings, version: str) -> None:
    """Overwrite the files of a registered model version with garbage."""
    from urllib.parse import urlparse

    client = registry.configure(settings)
    source = client.get_model_version(settings.model_name, version).source
    model_id = source.removeprefix("models:/")
    folder = Path(urlparse(client.get_logged_model(model_id).artifact_location).path)
    files = [p for p in folder.rglob("model.*") if p.is_file()]
    assert files, f"no model file under {folder}"
    for path in files:
        path.write_bytes(b"\x00not a model\xff" * 10)


@pytest.fixture
def data_csv(tmp_path: Path) -> Path:
    return write(generate(400, seed=9), tmp_path / "customers.csv")
