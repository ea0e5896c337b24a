"""CUDA only: the platform with use_gpu (NCCL between the Ray Train workers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from trainplat.bench import run
from trainplat.platform import submit
from trainplat.spec import builtin

pytestmark = [pytest.mark.gpu, pytest.mark.integration]


@pytest.mark.usefixtures("local_ray")
def test_a_gpu_job_trains_on_every_gpu(tmp_path: Path) -> None:
    gpus = torch.cuda.device_count()
    spec = builtin("tiny").model_copy(
        update={
            "scaling": builtin("tiny").scaling.model_copy(
                update={"num_workers": gpus, "use_gpu": True}
            ),
        }
    )
    job = submit(spec, tmp_path)
    assert job.metrics["world_size"] == gpus
    assert job.metrics["epoch"] == spec.epochs
    assert job.history[-1]["val_acc"] > 0.6


@pytest.mark.usefixtures("local_ray")
def test_gpu_scaling_benchmark_reports_every_worker_count(tmp_path: Path) -> None:
    gpus = torch.cuda.device_count()
    spec = builtin("tiny").model_copy(
        update={
            "scaling": builtin("tiny").scaling.model_copy(update={"use_gpu": True}),
        }
    )
    counts = sorted({1, gpus})
    rows = run(spec, counts, tmp_path)
    assert [r.workers for r in rows] == counts
    assert all(r.samples_per_s > 0 for r in rows)
