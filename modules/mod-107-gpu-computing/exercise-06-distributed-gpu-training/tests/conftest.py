from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from ddptrain.config import TrainConfig


def small_config(**overrides: object) -> TrainConfig:
    """2 epochs x 8 steps of 32 samples, gradient accumulation 2, a checkpoint every 3 steps.

    Short enough that float summation order (1 vs 2 ranks) stays below 1e-6 in the weights.
    """
    fields: dict[str, object] = {
        "samples": 256,
        "val_samples": 128,
        "epochs": 2,
        "global_batch": 32,
        "accum_steps": 2,
        "checkpoint_every": 3,
        "device": "cpu",
    }
    fields.update(overrides)
    return TrainConfig(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def small() -> Callable[..., TrainConfig]:
    """``small(**overrides)``: the tests' training configuration."""
    return small_config


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """Final weights of ``small()`` trained by one process: what every driver must match."""
    from ddptrain.runner import run_in_process

    return run_in_process(small_config(), tmp_path_factory.mktemp("reference")).state


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "run"
