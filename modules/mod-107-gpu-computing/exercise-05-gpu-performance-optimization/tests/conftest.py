from __future__ import annotations

import pytest
import torch
from gpuperf.config import RunConfig


@pytest.fixture(scope="session", autouse=True)
def _threads() -> None:
    """Two intra-op threads, as on the CI machines (the results do not depend on it)."""
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def small() -> RunConfig:
    """A baseline that runs a step in a few milliseconds."""
    return RunConfig(samples=128, batch=16, width=8, blocks=1, image_size=16)
