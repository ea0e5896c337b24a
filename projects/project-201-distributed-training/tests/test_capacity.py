"""A job the cluster can never place is refused at once (not after a start-up timeout)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from trainplat.errors import TrainplatError
from trainplat.platform import check_capacity, submit
from trainplat.spec import JobSpec

pytestmark = pytest.mark.integration


def _spec(**scaling: object) -> JobSpec:
    return JobSpec.model_validate({"name": "too-big", "scaling": scaling})


def test_more_workers_than_cpus_is_refused_before_anything_starts(
    local_ray: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    expected = r"needs 8 CPUs \(8 worker\(s\) x 1\); the Ray cluster has 2"
    with pytest.raises(TrainplatError, match=expected):
        submit(_spec(num_workers=8), tmp_path)
    assert not (tmp_path / "too-big").exists()  # nothing claimed, nothing written
    assert time.monotonic() - started < 30  # refused, not a start-up timeout (a loose bound)


def test_what_fits_passes_and_gpus_are_counted(local_ray: Path) -> None:
    check_capacity(_spec(num_workers=2))
    check_capacity(_spec(num_workers=4, cpus_per_worker=0.5))
    with pytest.raises(TrainplatError, match="needs 3 CPUs"):
        check_capacity(_spec(num_workers=2, cpus_per_worker=1.5))
    with pytest.raises(TrainplatError, match=r"needs 1 GPU\(s\)"):
        check_capacity(_spec(num_workers=1, use_gpu=True))
    check_capacity(_spec(num_workers=8), "tune")  # a trial needs one worker's share
