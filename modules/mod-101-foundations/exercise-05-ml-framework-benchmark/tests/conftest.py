from __future__ import annotations

from typing import Any

import pytest
from fwbench.config import Profile

#: Enough to exercise every code path of a measurement in a second or two per pair.
TINY = Profile(
    name="tiny",
    samples=64,
    train_batch=16,
    warmup_steps=1,
    train_steps=4,
    infer_batches=(1, 4),
    warmup_infer=1,
    infer_repeats=3,
)


@pytest.fixture(scope="session")
def tiny() -> Profile:
    """The tests' measurement profile."""
    return TINY


@pytest.fixture(scope="session")
def measured() -> dict[str, Any]:
    """One real run of torch and JAX on the LSTM (tiny profile), shared by the tests."""
    from fwbench import bench

    cpus, threads = bench.parse_cpus(None, 1)
    return bench.run(["torch", "jax"], ["lstm"], TINY, cpus=cpus, threads=threads)
