from __future__ import annotations

import re
from typing import Any

import pytest
from costlens.catalog import load_catalog
from costlens.recommend import Params, recommend
from costlens.store import Store


def _kind(recs: list[Any], kind: str) -> set[str]:
    return {r.resource for r in recs if r.kind == kind}


def test_idle_and_oversized_machines_are_found_exactly(
    store: Store, sample: dict[str, Any]
) -> None:
    recs = recommend(store)
    assert _kind(recs, "idle") == set(sample["truth"]["idle"])
    assert _kind(recs, "rightsize") == set(sample["truth"]["oversized"])
    assert _kind(recs, "storage") == set(sample["truth"]["cold_storage"])
    assert {r.provider for r in recs if r.kind == "commitment"} == {
        "AWS",
        "Google Cloud",
        "Microsoft",
    }
    assert recs == sorted(recs, key=lambda r: -r.monthly_saving)
    assert all(r.monthly_saving > 0 and r.evidence for r in recs)


@pytest.mark.parametrize("headroom", [0.0, 0.3, 1.0])
def test_rightsizing_never_goes_below_the_peak_plus_headroom(store: Store, headroom: float) -> None:
    catalog = {name: i for (_, name), i in load_catalog().items()}
    for rec in recommend(store, Params(headroom=headroom)):
        if rec.kind != "rightsize":
            continue
        current, target = re.match(r"resize (\S+) -> (\S+)", rec.action).groups()
        peak_cpu = max(
            row["cpu_p95"]
            for row in store.df(
                "SELECT cpu_p95 FROM utilization WHERE resource_id = ? AND date >= "
                "(SELECT max(date) - 13 FROM utilization)",
                [rec.resource],
            ).to_dict("records")
        )
        need = catalog[current].vcpu * peak_cpu / 100 * (1 + headroom)
        assert catalog[target].vcpu >= need
        assert catalog[target].hourly < catalog[current].hourly


def test_more_headroom_recommends_less(store: Store) -> None:
    tight = sum(
        r.monthly_saving for r in recommend(store, Params(headroom=0.0)) if r.kind == "rightsize"
    )
    loose = sum(
        r.monthly_saving for r in recommend(store, Params(headroom=2.0)) if r.kind == "rightsize"
    )
    assert tight > loose


def test_commitment_never_exceeds_the_daily_floor(store: Store) -> None:
    for rec in recommend(store):
        if rec.kind == "commitment":
            floor = min(row["on_demand"] for row in rec.evidence)
            hourly = float(re.search(r"commit ([\d.]+)/hour", rec.action).group(1))
            assert hourly * 24 <= floor + 0.01
