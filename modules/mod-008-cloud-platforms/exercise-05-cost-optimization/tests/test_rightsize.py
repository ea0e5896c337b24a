from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from costopt.errors import CostoptError
from costopt.rightsize import catalog, load_utilization, recommend
from costopt.usage import FLEET, utilization
from hypothesis import given, settings
from hypothesis import strategies as st

IDS = [f"i-{n:04d}" for n in range(len(FLEET))]


def test_the_demo_fleet_gets_the_expected_changes() -> None:
    recs = {
        r.instance_id: r for r in recommend(utilization(IDS, datetime(2026, 11, 21, tzinfo=UTC)))
    }
    by_name = {s["tags"]["Name"]: recs[i] for s, i in zip(FLEET, IDS, strict=True)}
    assert (by_name["etl-1"].action, by_name["etl-1"].target) == ("downsize", "m5.2xlarge")
    assert by_name["gpu-dev-1"].target == "g5.xlarge"
    assert by_name["api-1"].action == "keep"
    assert by_name["trainer-1"].action == "keep"  # a busy GPU is not a reason to upsize
    assert by_name["etl-1"].monthly_saving == pytest.approx((0.768 - 0.384) * 730)


@settings(max_examples=60, deadline=None)
@given(
    itype=st.sampled_from(sorted(t for t in catalog() if catalog()[t].gpus == 0)),
    cpu=st.lists(st.floats(0, 100), min_size=3, max_size=40),
    mem=st.floats(0, 100),
    headroom=st.floats(0, 1),
)
def test_never_below_the_observed_peak_plus_headroom(
    itype: str, cpu: list[float], mem: float, headroom: float
) -> None:
    n = len(cpu)
    samples = pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-11-01", periods=n, freq="h", tz=UTC),
            "instance_id": "i-1",
            "instance_type": itype,
            "cpu_pct": cpu,
            "mem_pct": np.full(n, mem),
        }
    )
    [rec] = recommend(samples, headroom=headroom)
    current, target = catalog()[itype], catalog()[rec.target]
    if rec.action == "no-fit":  # only when truly nothing is big enough
        assert not [
            t
            for t in catalog().values()
            if t.gpus == 0
            and t.vcpu >= current.vcpu * max(cpu) / 100 * (1 + headroom)
            and t.memory_gib >= current.memory_gib * mem / 100 * (1 + headroom)
        ]
        return
    assert target.vcpu >= current.vcpu * max(cpu) / 100 * (1 + headroom) - 1e-9
    assert target.memory_gib >= current.memory_gib * mem / 100 * (1 + headroom) - 1e-9
    if rec.action == "downsize":
        assert target.hourly < current.hourly


def test_gpus_in_use_are_never_taken_away() -> None:
    samples = pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-11-01", periods=3, freq="h", tz=UTC),
            "instance_id": "i-1",
            "instance_type": "g5.12xlarge",
            "cpu_pct": 5.0,
            "mem_pct": 5.0,
            "gpu_pct": [10.0, 60.0, 20.0],  # 60 % of 4 GPUs = 2.4: three are needed
        }
    )
    [rec] = recommend(samples)
    assert catalog()[rec.target].gpus >= 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timestamp,instance_id\n", "missing column"),
        (
            "timestamp,instance_id,instance_type,cpu_pct,mem_pct\n2026-11-01,i-1,m5.large,140,3\n",
            ":2: 1 sample",
        ),
        ("timestamp,instance_id,instance_type,cpu_pct,mem_pct\n", "no samples"),
    ],
)
def test_bad_utilization_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "u.csv"
    path.write_text(content)
    with pytest.raises(CostoptError, match=message):
        load_utilization(path)


def test_an_unknown_instance_type_is_an_error() -> None:
    samples = pd.DataFrame(
        {
            "timestamp": [pd.Timestamp("2026-11-01", tz=UTC)],
            "instance_id": ["i-1"],
            "instance_type": ["x9.huge"],
            "cpu_pct": [1.0],
            "mem_pct": [1.0],
        }
    )
    with pytest.raises(CostoptError, match="not in the catalog"):
        recommend(samples)
