from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One local Ray instance for the whole test session (start-up costs ~8 s)."""
    from trainplat.cluster import connect, disconnect

    temp = tmp_path_factory.mktemp("ray")
    connect(temp_dir=temp, num_cpus=2)
    yield temp
    disconnect()


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    return tmp_path / "job.yaml"
