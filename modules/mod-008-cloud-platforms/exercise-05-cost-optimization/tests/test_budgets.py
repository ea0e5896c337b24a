from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from costopt import budgets
from costopt.aws import client, instances
from costopt.errors import CostoptError
from costopt.usage import daily_usage

TODAY = date(2026, 11, 20)
BUDGETS = """
[[budget]]
name = "research"
team = "research"
monthly_limit = 2000
threshold = [
  { percent = 80, actions = ["notify"] },
  { percent = 100, actions = ["stop-dev", "block-launch"], forecast = true },
  { percent = 150, actions = ["notify"] },
]

[[budget]]
name = "data"
team = "data"
monthly_limit = 5000
threshold = [{ percent = 50, actions = ["stop-dev"] }]
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[list[budgets.Budget], Path]:
    path = tmp_path / "b.toml"
    path.write_text(BUDGETS)
    return budgets.load_budgets(path), tmp_path


def test_thresholds_fire_on_actual_or_forecast_spend(setup: Any) -> None:
    rules, _ = setup
    usage = daily_usage([f"i-{n}" for n in range(7)], TODAY)
    research, data = budgets.evaluate(rules, usage, TODAY)
    month = usage[(usage["team"] == "research") & (usage["date"] <= TODAY)]
    assert research.spent == pytest.approx(month["cost"].sum(), abs=0.01)
    assert research.forecast == pytest.approx(research.spent / 20 * 30, abs=0.02)
    assert [p for p, _ in research.fired] == [80, 100]  # 150 % is not reached by the actual
    assert data.fired == []


@pytest.mark.integration
def test_enforcement_stops_only_the_teams_dev_machines_blocks_launches_and_fires_once(
    fleet: dict[str, Any], setup: Any
) -> None:
    rules, tmp = setup
    usage = daily_usage(fleet["ids"], TODAY)
    statuses = budgets.evaluate(rules, usage, TODAY)
    sent: list[dict[str, Any]] = []
    enforcer = budgets.Enforcer(fleet["ec2"], client("iam"), tmp / "state.json", sent.append)
    preview = enforcer.enforce(statuses, TODAY, dry_run=True)
    assert any("stopped dev instances of research" in line for line in preview)
    assert {i.state for i in instances(fleet["ec2"], {"team": "research", "env": "dev"})} == {
        "running"
    }
    lines = enforcer.enforce(statuses, TODAY)
    assert len(lines) == 3
    assert [m["percent"] for m in sent] == [80]
    states = {i.name: i.state for i in instances(fleet["ec2"]) if i.instance_id in fleet["ids"]}
    assert states["gpu-dev-1"] == states["notebook-ana"] == states["forgotten-poc"] == "stopped"
    assert states["trainer-1"] == "running"  # research, but prod
    assert states["etl-1"] == "running"  # another team
    assert budgets.launches_blocked(client("iam"), "team-research")
    # Hourly cron: the same day again does nothing, a new state file would.
    assert (
        budgets.Enforcer(fleet["ec2"], client("iam"), tmp / "state.json").enforce(statuses, TODAY)
        == []
    )
    assert budgets.unblock_launches(client("iam"), "team-research")
    assert not budgets.launches_blocked(client("iam"), "team-research")
    assert not budgets.unblock_launches(client("iam"), "team-research")


def test_allocation_shares_untagged_cost_pro_rata() -> None:
    usage = daily_usage([f"i-{n}" for n in range(7)], TODAY)
    frame = budgets.allocation(usage, TODAY)
    month = usage[usage["date"] <= TODAY]
    assert frame["total"].sum() == pytest.approx(month["cost"].sum(), abs=0.05)
    shares = frame["shared"] / frame["direct"]
    assert shares.max() - shares.min() < 1e-3  # the same ratio for every team


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no \\[\\[budget\\]\\] tables"),
        (
            "[[budget]]\nname='a'\nmonthly_limit=-1\n"
            "threshold=[{percent=50, actions=['notify']}]\n",
            "monthly_limit",
        ),
        (
            "[[budget]]\nname='a'\nmonthly_limit=10\nthreshold=[{percent=50, actions=['email']}]\n",
            "unknown action",
        ),
        (
            "[[budget]]\nname='a'\nmonthly_limit=nan\n"
            "threshold=[{percent=50, actions=['notify']}]\n",
            "monthly_limit",
        ),
        ("[[budget]]\nname='a'\nmonthly_limit=10\nthreshold=[]\n", "threshold"),
    ],
)
def test_bad_budget_files_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "b.toml"
    path.write_text(text)
    with pytest.raises(CostoptError, match=message):
        budgets.load_budgets(path)


def test_bad_usage_rows_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("date,team,cost\n2026-11-01,a,1.5\n2026-11-02,a,lots\n")
    with pytest.raises(CostoptError, match=r"u.csv:3"):
        budgets.load_usage(path)
