"""Budgets with thresholds that act: notify, stop the team's dev instances, block launches.

A budget file (TOML) lists budgets (a monthly limit for one team tag, or for everything) and
their thresholds; a threshold fires when the month-to-date spend (or, with ``forecast = true``,
the run-rate forecast of the month end) reaches its percentage. Each threshold fires once per
month (a state file remembers), so running ``costopt budgets enforce`` from cron every hour
does not stop the same machines or send the same mail twenty times.

Actions: ``notify`` (a line in the digest, and a JSON POST when a webhook is given);
``stop-dev`` (EC2 StopInstances on the team's running instances tagged ``env=dev``);
``block-launch`` (an IAM policy denying ``ec2:RunInstances`` on the team's group; remove it
with ``costopt budgets unblock``). moto records the IAM policy but does not enforce it; AWS does.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from costopt.aws import instances, set_state
from costopt.errors import CostoptError
from costopt.tomlfiles import load_tables

ACTIONS = ("notify", "stop-dev", "block-launch")
DENY_POLICY = "costopt-budget-deny-launch"


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")
    percent: float = Field(gt=0, le=1000)
    actions: list[str] = Field(min_length=1)
    forecast: bool = False

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if a not in ACTIONS]
        if bad:
            raise ValueError(f"unknown action(s) {bad}; use {', '.join(ACTIONS)}")
        return value


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    team: str | None = None
    monthly_limit: float = Field(gt=0, allow_inf_nan=False)
    threshold: list[Threshold] = Field(min_length=1)


def load_budgets(path: Path) -> list[Budget]:
    return load_tables(path, "budget", Budget)


def load_usage(path: Path) -> pd.DataFrame:
    """Daily cost rows: date, team, env, resource_id, service, cost (CSV)."""
    try:
        frame = pd.read_csv(path, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise CostoptError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from exc
    missing = [c for c in ("date", "team", "cost") if c not in frame.columns]
    if missing:
        raise CostoptError(f"{path}: missing column(s) {', '.join(missing)}")
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce").dt.date
    frame["cost"] = pd.to_numeric(frame["cost"], errors="coerce")
    bad = frame["date"].isna() | frame["cost"].isna() | ~frame["cost"].between(-1e9, 1e9)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 2
        raise CostoptError(f"{path}:{row}: a bad date or cost; nothing used")
    return frame


@dataclass
class Status:
    budget: str
    team: str | None
    limit: float
    spent: float
    forecast: float
    fired: list[tuple[float, list[str]]] = field(default_factory=list)  # (percent, actions)

    @property
    def used(self) -> float:
        return self.spent / self.limit


def evaluate(budgets: list[Budget], usage: pd.DataFrame, today: date) -> list[Status]:
    """Month-to-date spend, run-rate forecast and the thresholds crossed, per budget."""
    first = today.replace(day=1)
    month = usage[(usage["date"] >= first) & (usage["date"] <= today)]
    days = calendar.monthrange(today.year, today.month)[1]
    out = []
    for b in budgets:
        rows = month if b.team is None else month[month["team"] == b.team]
        spent = float(rows["cost"].sum())
        forecast = spent / today.day * days
        status = Status(b.name, b.team, b.monthly_limit, round(spent, 2), round(forecast, 2))
        for t in sorted(b.threshold, key=lambda t: t.percent):
            value = forecast if t.forecast else spent
            if value >= t.percent / 100 * b.monthly_limit:
                status.fired.append((t.percent, t.actions))
        out.append(status)
    return out


class Enforcer:
    """Carries out the actions of crossed thresholds, once per budget, threshold and month."""

    def __init__(self, ec2: Any, iam: Any, state_file: Path, notify: Any = None) -> None:
        self.ec2, self.iam, self.state_file, self.notify = ec2, iam, state_file, notify
        try:
            self.state: dict[str, Any] = json.loads(state_file.read_text())
        except FileNotFoundError:
            self.state = {}
        except (OSError, ValueError) as exc:
            raise CostoptError(f"{state_file}: unreadable budget state ({exc})") from exc

    def enforce(self, statuses: list[Status], today: date, *, dry_run: bool = False) -> list[str]:
        """Returns one line per action taken (or that would be, with ``dry_run``)."""
        done = []
        month = f"{today:%Y-%m}"
        for s in statuses:
            for percent, actions in s.fired:
                key = f"{s.budget}|{month}|{percent:g}"
                if key in self.state:
                    continue
                for action in actions:
                    done.append(self._act(s, percent, action, dry_run))
                if not dry_run:
                    self.state[key] = today.isoformat()
        if not dry_run:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps(self.state, indent=2))
        return done

    def _act(self, s: Status, percent: float, action: str, dry_run: bool) -> str:
        head = (
            f"{s.budget}: {percent:g}% ({s.spent:,.2f} of {s.limit:,.2f}, "
            f"forecast {s.forecast:,.2f})"
        )
        if action == "notify":
            if self.notify and not dry_run:
                self.notify(
                    {
                        "budget": s.budget,
                        "team": s.team,
                        "percent": percent,
                        "spent": s.spent,
                        "limit": s.limit,
                        "forecast": s.forecast,
                    }
                )
            return f"{head}: notified"
        if s.team is None:
            return f"{head}: {action} skipped (the budget has no team)"
        if action == "stop-dev":
            running = [
                i
                for i in instances(self.ec2, {"team": s.team, "env": "dev"})
                if i.state in ("pending", "running")
            ]
            if not dry_run:
                set_state(self.ec2, [i.instance_id for i in running], "stopped")
            names = ", ".join(i.name for i in running) or "none running"
            return f"{head}: stopped dev instances of {s.team}: {names}"
        group = f"team-{s.team}"
        if not dry_run:
            block_launches(self.iam, group)
        return f"{head}: launches blocked for IAM group {group}"


def _deny_document() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "BudgetExceeded",
                    "Effect": "Deny",
                    "Action": ["ec2:RunInstances"],
                    "Resource": "*",
                }
            ],
        }
    )


def block_launches(iam: Any, group: str) -> None:
    try:
        try:
            iam.get_group(GroupName=group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchEntity":
                raise
            iam.create_group(GroupName=group)
        iam.put_group_policy(
            GroupName=group, PolicyName=DENY_POLICY, PolicyDocument=_deny_document()
        )
    except (BotoCoreError, ClientError) as exc:
        raise CostoptError(f"IAM {group}: {exc}") from exc


def unblock_launches(iam: Any, group: str) -> bool:
    try:
        iam.delete_group_policy(GroupName=group, PolicyName=DENY_POLICY)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            return False
        raise CostoptError(f"IAM {group}: {exc}") from exc
    return True


def launches_blocked(iam: Any, group: str) -> bool:
    try:
        names = iam.list_group_policies(GroupName=group)["PolicyNames"]
    except ClientError:
        return False
    return DENY_POLICY in names


def allocation(usage: pd.DataFrame, today: date) -> pd.DataFrame:
    """Month-to-date spend per team; untagged spend shared in proportion to tagged spend."""
    month = usage[(usage["date"] >= today.replace(day=1)) & (usage["date"] <= today)]
    tagged = month[month["team"] != ""].groupby("team")["cost"].sum()
    shared = float(month.loc[month["team"] == "", "cost"].sum())
    total = float(tagged.sum())
    frame = pd.DataFrame({"team": tagged.index, "direct": tagged.to_numpy()})
    frame["shared"] = frame["direct"] / total * shared if total else 0.0
    frame["total"] = frame["direct"] + frame["shared"]
    return frame.round(2).sort_values("total", ascending=False).reset_index(drop=True)
