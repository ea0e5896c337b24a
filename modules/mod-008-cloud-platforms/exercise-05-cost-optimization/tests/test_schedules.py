from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from costopt import schedules
from costopt.aws import client, instances
from costopt.errors import CostoptError

pytestmark = pytest.mark.integration

SATURDAY = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
MONDAY_9_BERLIN = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 CET
CHRISTMAS = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)


def _states(fleet: dict[str, Any]) -> dict[str, str]:
    mine = set(fleet["ids"])
    return {i.name: i.state for i in instances(fleet["ec2"]) if i.instance_id in mine}


def _cpu(instance_id: str, value: float, now: datetime) -> None:
    client("cloudwatch").put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Value": value,
                "Unit": "Percent",
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                "Timestamp": now - timedelta(minutes=m),
            }
            for m in range(5, 60, 10)
        ],
    )


def test_saturday_stops_office_machines_and_the_idle_one(
    fleet: dict[str, Any], policy_file: Path
) -> None:
    _cpu(fleet["by_name"]["forgotten-poc"], 0.7, SATURDAY)
    policies = schedules.load_policies(policy_file)
    plan = schedules.plan(fleet["ec2"], client("cloudwatch"), policies, SATURDAY)
    assert {a.name: a.desired for a in plan.actions} == {
        "forgotten-poc": "stopped",
        "gpu-dev-1": "stopped",
        "notebook-ana": "stopped",
    }
    assert _states(fleet)["gpu-dev-1"] == "running"  # a plan alone changes nothing
    schedules.apply(fleet["ec2"], plan)
    states = _states(fleet)
    assert states["gpu-dev-1"] == states["forgotten-poc"] == "stopped"
    assert states["api-1"] == "running"  # not selected by any policy
    again = schedules.plan(fleet["ec2"], client("cloudwatch"), policies, SATURDAY)
    assert [a for a in again.actions if a.policy == "office"] == []  # already right


def test_monday_morning_starts_them_and_christmas_does_not(
    fleet: dict[str, Any], policy_file: Path
) -> None:
    policies = schedules.load_policies(policy_file)
    ec2 = fleet["ec2"]
    ec2.stop_instances(InstanceIds=[fleet["by_name"]["gpu-dev-1"]])
    monday = schedules.plan(ec2, client("cloudwatch"), policies, MONDAY_9_BERLIN)
    assert [(a.name, a.desired) for a in monday.actions] == [("gpu-dev-1", "running")]
    holiday = schedules.plan(ec2, client("cloudwatch"), policies, CHRISTMAS)
    assert {a.name for a in holiday.actions} == {"notebook-ana"}
    assert all("holiday" in a.reason for a in holiday.actions)


def test_a_busy_machine_is_not_idle(fleet: dict[str, Any], policy_file: Path) -> None:
    now = SATURDAY + timedelta(days=7)
    _cpu(fleet["by_name"]["forgotten-poc"], 42.0, now)
    plan = schedules.plan(
        fleet["ec2"], client("cloudwatch"), schedules.load_policies(policy_file)[:1], now
    )
    assert plan.actions == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no \\[\\[policy\\]\\] tables"),
        ("[[policy]]\nname='x'\nkind='often'\nselect={a='b'}\n", "kind"),
        (
            "[[policy]]\nname='x'\nkind='weekends'\nselect={a='b'}\ndays=['mon','funday']\n",
            "unknown day",
        ),
        (
            "[[policy]]\nname='x'\nkind='weekends'\nselect={a='b'}\ntimezone='Mars/Olympus'\n",
            "unknown time zone",
        ),
        ("[[policy]]\nname='x'\nkind='weekends'\nselect={a='b'}\ncolour=1\n", "colour"),
        ("[[policy\n", "not valid TOML"),
    ],
)
def test_bad_policy_files_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(CostoptError, match=message):
        schedules.load_policies(path)
