"""The same core under Ray Train's TorchTrainer, on a real local Ray instance."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from ddptrain.config import TrainConfig
from ddptrain.demo import max_abs_diff as max_diff

# ddptrain.ray_driver first: importing it sets RAY_ENABLE_UV_RUN_RUNTIME_ENV=0, which must happen
# before ray is imported (under `uv run`, Ray would otherwise start its workers with `uv run` in
# the workspace, and they would never come up).
from ddptrain.ray_driver import ensure_ray  # isort: skip

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    ensure_ray(tmp_path_factory.mktemp("ray"), num_cpus=2)
    yield
    ray.shutdown()


@pytest.mark.usefixtures("local_ray")
def test_a_killed_ray_worker_is_replaced_and_the_run_ends_with_the_single_process_weights(
    tmp_path: Path, small: Callable[..., TrainConfig], reference: dict[str, torch.Tensor]
) -> None:
    from ddptrain.ray_driver import fit

    result = fit(
        small(), tmp_path / "storage", name="killed", num_workers=2, max_failures=1, kill_at_step=7
    )
    marker = json.loads((tmp_path / "storage" / "killed" / ".fault-injected").read_text())
    assert marker["rank"] == 1  # a worker really died at step 7 ...
    assert result.metrics["step"] == 16  # ... and a new worker group finished the run
    assert result.metrics["epoch"] == 2
    assert result.checkpoint_dir.is_relative_to(tmp_path / "storage" / "killed")
    assert max_diff(result.weights, reference) < 1e-5
