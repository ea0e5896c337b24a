from __future__ import annotations

# ruff: noqa: S310 - loopback URLs of the metadata service
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch
from costopt.errors import CostoptError
from costopt.job import TrainConfig
from costopt.spot import MetadataService, SpotPlan, cheapest_zone, load_prices, price_at, run_spot
from costopt.trainer import train

QUIET = datetime(2026, 11, 3, tzinfo=UTC)  # no price spike in the shipped history that day


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    cfg = TrainConfig(steps=70, workdir=str(tmp_path_factory.mktemp("base")))
    assert train(cfg) == 0
    return torch.load(cfg.final)


def _equal(a: dict[str, torch.Tensor], path: Path | None) -> bool:
    assert path is not None
    b = torch.load(path)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_drill_then_a_price_spike_the_run_ends_with_the_uninterrupted_weights(
    baseline: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    # 2026-11-02 in the shipped history: p3 spot rises above on-demand at hour 5 (step 50).
    cfg = TrainConfig(steps=70, workdir=str(tmp_path), step_delay=0.01)
    run = run_spot(cfg, SpotPlan(interrupt_at_steps=(20,), notice_seconds=5))
    assert run.interruptions == 2
    assert [s.market for s in run.segments] == ["spot", "spot", "on-demand"]
    assert [s.ended for s in run.segments] == ["interrupted", "interrupted", "done"]
    assert run.segments[1].last_step >= 50  # the spike, at 0.1 h a step
    assert _equal(baseline, run.final)


def test_killed_before_it_could_checkpoint_it_resumes_from_the_last_one(
    baseline: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    cfg = TrainConfig(steps=70, workdir=str(tmp_path), step_delay=0.02, checkpoint_every=25)
    run = run_spot(cfg, SpotPlan(start=QUIET, interrupt_at_steps=(30,), notice_seconds=0))
    first, second = run.segments
    assert first.ended == "killed"
    assert second.first_step == 25  # the periodic checkpoint, not where it died
    assert first.paid_steps >= 30  # the lost steps were paid for, and are paid again
    assert _equal(baseline, run.final)


def test_after_max_interruptions_it_falls_back_to_on_demand(tmp_path: Path) -> None:
    cfg = TrainConfig(steps=60, workdir=str(tmp_path), step_delay=0.01)
    plan = SpotPlan(
        start=QUIET,
        interrupt_at_steps=(10, 20, 30),
        notice_seconds=5,
        max_interruptions=1,
        step_hours=0.5,
    )
    run = run_spot(cfg, plan)
    assert [s.market for s in run.segments] == ["spot", "on-demand"]
    assert run.interruptions == 1
    spent = sum(s.paid_steps * 0.5 * s.price for s in run.segments)
    assert run.cost == pytest.approx(spent, abs=1e-3)
    assert run.on_demand_cost == pytest.approx(60 * 0.5 * 3.06)
    assert 0 < run.saving < run.on_demand_cost


def test_price_history_lookups() -> None:
    prices = load_prices()
    zone, price = cheapest_zone(prices, "p3.2xlarge", QUIET)
    assert zone == "us-east-1c"
    assert price == price_at(prices, "p3.2xlarge", zone, QUIET)
    assert price < 3.06
    with pytest.raises(CostoptError, match="no spot price"):
        price_at(prices, "p3.2xlarge", zone, datetime(2020, 1, 1, tzinfo=UTC))


def test_a_bad_price_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "Timestamp,InstanceType,AvailabilityZone,SpotPrice\n"
        "2026-11-02T00:00:00Z,p3.2xlarge,us-east-1a,cheap\n"
    )
    with pytest.raises(CostoptError, match=r"p.csv:2: bad price row"):
        load_prices(path)


def test_the_metadata_service_answers_like_imds() -> None:
    with MetadataService() as imds:
        url = f"{imds.url}/latest/meta-data/spot/instance-action"
        with pytest.raises(urllib.error.HTTPError) as gone:
            urllib.request.urlopen(url, timeout=5)
        assert gone.value.code == 404
        token = urllib.request.Request(f"{imds.url}/latest/api/token", method="PUT")
        assert urllib.request.urlopen(token, timeout=5).status == 200
        imds.schedule_termination(datetime(2026, 11, 2, 5, 2, tzinfo=UTC))
        body = json.loads(urllib.request.urlopen(url, timeout=5).read())
    assert body == {"action": "terminate", "time": "2026-11-02T05:02:00Z"}


def test_a_checkpoint_of_another_run_is_refused_not_resumed(tmp_path: Path) -> None:
    first = TrainConfig(steps=30, workdir=str(tmp_path), checkpoint_every=10)
    assert train(first) == 0
    other = TrainConfig(steps=30, workdir=str(tmp_path), seed=1)
    with pytest.raises(CostoptError, match="holds a checkpoint of another run"):
        run_spot(other, SpotPlan(start=QUIET))
