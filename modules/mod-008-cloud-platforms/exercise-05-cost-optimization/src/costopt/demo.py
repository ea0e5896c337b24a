"""``costopt demo``: a month of a tagged EC2 fleet on a local AWS (moto), optimized four ways.

1. rightsizing from 14 days of utilization (never below the peak plus headroom);
2. schedules: on a Saturday morning the office-hours machines stop, an idle one too (CPU from
   CloudWatch), through real EC2 API calls;
3. budgets on the 20th: research's forecast crosses 100 %: its dev machines stop and an IAM
   policy blocks its launches;
4. a torch training run on spot instances, interrupted (a scheduled drill, then a price spike),
   resumed from checkpoints, with exactly the weights of an uninterrupted run, and its cost.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import torch

from aiinfra_shared.cliapp import console
from aiinfra_shared.services import start
from costopt import budgets, rightsize, schedules
from costopt.aws import client, instances, launch_fleet
from costopt.job import TrainConfig
from costopt.spot import SpotPlan, load_prices, run_spot
from costopt.tables import table
from costopt.trainer import train
from costopt.usage import FLEET, daily_usage, utilization

POLICIES = """
[[policy]]
name = "idle"
kind = "idle"
select = { Schedule = "idle-check" }
cpu = 5
minutes = 60

[[policy]]
name = "office-hours"
kind = "office-hours"
select = { Schedule = "office-hours" }
start = 8
end = 19
timezone = "Europe/Berlin"
holidays = [2026-12-25]
"""

BUDGETS = """
[[budget]]
name = "research"
team = "research"
monthly_limit = 2000
threshold = [
  { percent = 80, actions = ["notify"] },
  { percent = 100, actions = ["notify", "stop-dev", "block-launch"], forecast = true },
]

[[budget]]
name = "everything"
monthly_limit = 4500
threshold = [{ percent = 90, actions = ["notify"], forecast = true }]
"""


def run_demo(workdir: Path | None = None) -> None:
    with ExitStack() as stack:
        root = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="costopt-")))
        root.mkdir(parents=True, exist_ok=True)
        with console.status("starting a local AWS (moto server)"):
            aws = stack.enter_context(start("s3", workdir=root / "moto"))
        os.environ.update(aws.env)
        os.environ["AWS_ENDPOINT_URL"] = aws.url  # EC2, CloudWatch and IAM too
        ec2, cloudwatch = client("ec2"), client("cloudwatch")
        ids = launch_fleet(ec2, FLEET)
        console.print(f"[bold]0.[/] {len(ids)} EC2 instances launched on {aws.url}")

        now = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday
        samples = utilization(ids, now)
        recs = rightsize.recommend(samples, headroom=0.2)
        table(
            [
                {
                    "name": FLEET[ids.index(r.instance_id)]["tags"]["Name"],
                    "change": f"{r.current} -> {r.target}",
                    "cpu/mem/gpu peak %": f"{r.cpu_peak:.0f}/{r.mem_peak:.0f}/{r.gpu_peak:.0f}",
                    "saving/month": r.monthly_saving,
                }
                for r in recs
            ],
            "1. rightsizing (peak + 20 % headroom)",
        )

        idle = ids[[s["tags"]["Name"] for s in FLEET].index("forgotten-poc")]
        cloudwatch.put_metric_data(
            Namespace="AWS/EC2",
            MetricData=[
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": [{"Name": "InstanceId", "Value": idle}],
                    "Timestamp": now - timedelta(minutes=m),
                    "Value": 0.8,
                    "Unit": "Percent",
                }
                for m in range(5, 60, 5)
            ],
        )
        policy_file = root / "policies.toml"
        policy_file.write_text(POLICIES)
        plan = schedules.plan(ec2, cloudwatch, schedules.load_policies(policy_file), now)
        schedules.apply(ec2, plan)
        table(
            [
                {
                    "instance": a.name,
                    "now": a.current,
                    "to": a.desired,
                    "policy": a.policy,
                    "why": a.reason,
                }
                for a in plan.actions
            ],
            f"2. schedules at {now:%a %H:%M} UTC (applied through the EC2 API)",
        )
        states = {i.name: i.state for i in instances(ec2)}
        console.print("   now: " + ", ".join(f"{n} {s}" for n, s in states.items()))

        usage_file = root / "usage.csv"
        daily_usage(ids, date(2026, 11, 1)).to_csv(usage_file, index=False)
        budget_file = root / "budgets.toml"
        budget_file.write_text(BUDGETS)
        today = date(2026, 11, 20)
        statuses = budgets.evaluate(
            budgets.load_budgets(budget_file), budgets.load_usage(usage_file), today
        )
        # The budget check runs on a weekday, with the dev machines on.
        ec2.start_instances(InstanceIds=[i.instance_id for i in instances(ec2, {"env": "dev"})])
        enforcer = budgets.Enforcer(ec2, client("iam"), root / "budget-state.json")
        table(
            [
                {
                    "budget": s.budget,
                    "limit": s.limit,
                    "spent": s.spent,
                    "forecast": s.forecast,
                    "crossed": ", ".join(f"{p:g}%" for p, _ in s.fired) or "-",
                }
                for s in statuses
            ],
            f"3. budgets on {today}",
        )
        for line in enforcer.enforce(statuses, today):
            console.print(f"   {line}")
        again = enforcer.enforce(statuses, today)
        console.print(
            f"   run again the same day: {len(again)} action(s) (each fires once a month)"
        )
        console.print(
            f"   research launches blocked by IAM: "
            f"{budgets.launches_blocked(client('iam'), 'team-research')}"
        )
        table(
            budgets.allocation(budgets.load_usage(usage_file), today).to_dict("records"),
            "   team allocation (untagged NAT shared pro rata)",
        )

        console.print(
            "[bold]4.[/] spot training: a drill at step 30, then p3 spot prices spike "
            "above on-demand at hour 5"
        )
        base = TrainConfig(steps=120, workdir=str(root / "on-demand"))
        train(base)
        cfg = TrainConfig(steps=120, workdir=str(root / "spot"), step_delay=0.02)
        run = run_spot(
            cfg,
            SpotPlan(interrupt_at_steps=(30,), notice_seconds=2.0),
            load_prices(),
            log=lambda s, r: console.print(
                f"   {s.market:<9} {s.zone:<10} {s.price:5.2f}/h  steps "
                f"{s.first_step:>3}-{s.last_step:<3} {s.ended:<11} -> resume at {r}"
            ),
        )
        same = _same(base.final, run.final)
        console.print(
            f"   {run.interruptions} interruption(s); final weights equal to the "
            f"uninterrupted run: {same}"
        )
        console.print(
            f"   cost {run.cost:,.2f} on spot vs {run.on_demand_cost:,.2f} on demand: "
            f"saved {run.saving:,.2f} ({run.saving / run.on_demand_cost:.0%})"
        )
        total = sum(r.monthly_saving for r in recs if r.monthly_saving > 0)
        console.print(
            f"[bold]savings:[/] rightsizing {total:,.2f}/month; spot {run.saving:,.2f} on this run"
        )


def _same(a: Path | None, b: Path | None) -> bool:
    if a is None or b is None:
        return False
    x, y = torch.load(a), torch.load(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
