"""Idle shutdown and office-hours schedules for tagged EC2 instances.

A policy file (TOML) names policies; each selects instances by tag and says when they should
run. ``plan`` compares every selected instance's state with what its policy wants *now* (a
clock you pass in: tests use a fixed one) and lists the starts and stops, with the reason;
``apply`` makes them. Policies:

- ``office-hours``: running on the given weekdays between ``start`` and ``end`` (local time of
  ``timezone``), except holidays; stopped otherwise;
- ``weekends``: stopped on Saturdays, Sundays and holidays; no opinion on other days;
- ``idle``: stopped when the CloudWatch ``CPUUtilization`` average of the last ``minutes`` is
  under ``cpu`` percent; never starts anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from costopt.aws import Instance, instances, set_state
from costopt.tomlfiles import load_tables

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Policy(BaseModel):
    """One schedule, as written in the policy file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str = Field(pattern=r"^(office-hours|weekends|idle)$")
    select: dict[str, str] = Field(min_length=1)  # tag key -> value
    days: list[str] = Field(default_factory=lambda: list(DAYS[:5]))
    start: int = Field(default=8, ge=0, le=23)
    end: int = Field(default=19, ge=1, le=24)
    timezone: str = "UTC"
    holidays: list[date] = Field(default_factory=list)
    cpu: float = Field(default=5.0, gt=0, le=100)
    minutes: int = Field(default=60, ge=5, le=1440)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d not in DAYS]
        if bad:
            raise ValueError(f"unknown day(s) {bad}; use {', '.join(DAYS)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


def load_policies(path: Path) -> list[Policy]:
    return load_tables(path, "policy", Policy)


@dataclass
class Action:
    instance_id: str
    name: str
    current: str
    desired: str
    policy: str
    reason: str


@dataclass
class Plan:
    at: datetime
    actions: list[Action] = field(default_factory=list)
    unchanged: int = 0

    def ids(self, desired: str) -> list[str]:
        return [a.instance_id for a in self.actions if a.desired == desired]


def desired_state(
    policy: Policy, now: datetime, cpu_average: float | None = None, current: str = "running"
) -> tuple[str | None, str]:
    """What the policy wants at ``now`` (None: no opinion) and why."""
    local = now.astimezone(ZoneInfo(policy.timezone))
    day = DAYS[local.weekday()]
    holiday = local.date() in policy.holidays
    if policy.kind == "office-hours":
        if holiday:
            return "stopped", f"holiday {local.date()}"
        if day not in policy.days:
            return "stopped", f"{day} is not a working day"
        if policy.start <= local.hour < policy.end:
            return "running", f"office hours {policy.start}:00-{policy.end}:00 {policy.timezone}"
        return (
            "stopped",
            f"{local:%H:%M} {policy.timezone} is outside {policy.start}:00-{policy.end}:00",
        )
    if policy.kind == "weekends":
        if holiday or day in ("sat", "sun"):
            return "stopped", "holiday" if holiday else "weekend"
        return None, "a working day"
    if current != "running" or cpu_average is None:
        return None, "no CPU data" if cpu_average is None else "not running"
    if cpu_average < policy.cpu:
        return "stopped", (
            f"CPU {cpu_average:.1f}% < {policy.cpu:g}% over the last {policy.minutes} min"
        )
    return None, f"busy (CPU {cpu_average:.1f}%)"


def cpu_average(cloudwatch: Any, instance_id: str, now: datetime, minutes: int) -> float | None:
    """CloudWatch's average CPUUtilization over the last ``minutes`` (None: no datapoints)."""
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        StartTime=now - timedelta(minutes=minutes),
        EndTime=now,
        Period=60 * minutes,
        Statistics=["Average"],
    )
    points = stats.get("Datapoints", [])
    if not points:
        return None
    return float(sum(p["Average"] for p in points) / len(points))


def plan(ec2: Any, cloudwatch: Any, policies: list[Policy], now: datetime) -> Plan:
    """The starts and stops the policies want now. The first policy that has an opinion on an
    instance decides it (list the narrow ones first)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    result = Plan(now)
    decided: set[str] = set()
    for policy in policies:
        for inst in instances(ec2, policy.select):
            if inst.instance_id in decided:
                continue
            cpu = (
                cpu_average(cloudwatch, inst.instance_id, now, policy.minutes)
                if policy.kind == "idle"
                else None
            )
            want, why = desired_state(policy, now, cpu, inst.state)
            if want is None:
                continue
            decided.add(inst.instance_id)
            if _settled(inst, want):
                result.unchanged += 1
            else:
                result.actions.append(
                    Action(inst.instance_id, inst.name, inst.state, want, policy.name, why)
                )
    return result


def _settled(inst: Instance, want: str) -> bool:
    return (
        inst.state == want
        or (want == "stopped" and inst.state == "stopping")
        or (want == "running" and inst.state == "pending")
    )


def apply(ec2: Any, the_plan: Plan) -> None:
    set_state(ec2, the_plan.ids("stopped"), "stopped")
    set_state(ec2, the_plan.ids("running"), "running")
