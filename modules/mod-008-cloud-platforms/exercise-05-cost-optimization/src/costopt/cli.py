"""The ``costopt`` command.

Exit codes: 0 done, 1 bad input (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from, sub_app
from costopt.config import Settings
from costopt.errors import CostoptError
from costopt.tables import table

app = package_app(
    "008-05: Cost optimization: rightsizing with headroom, spot training that survives "
    "interruptions, idle shutdown schedules and budgets acting on EC2 (moto)"
)
schedule_app = sub_app("Idle shutdown and office-hours schedules for tagged EC2 instances.")
budget_app = sub_app("Budgets with thresholds that notify, stop dev instances, block launches.")
app.add_typer(schedule_app, name="schedule")
app.add_typer(budget_app, name="budgets")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _settings() -> Settings:
    return settings_from(Settings, CostoptError)


def _when(value: str | None, option: str = "--at") -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CostoptError(f"{option} must be an ISO date-time, got {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _day(value: str | None) -> date:
    return _when(value, "--today").date() if value else date.today()


@app.command()
def rightsize(
    utilization: Annotated[
        Path,
        typer.Argument(
            help="CSV: timestamp, instance_id, instance_type, cpu_pct, mem_pct[, gpu_pct]"
        ),
    ],
    headroom: Annotated[
        float, typer.Option(help="Kept above the observed peak (0.2 = 20 %).")
    ] = 0.2,
    lookback: Annotated[int, typer.Option(help="Days of samples to use.")] = 14,
    as_json: JsonOpt = False,
) -> None:
    """Recommend instance types: never below the observed peak plus headroom."""
    from costopt import rightsize as rightsize_mod

    recs = rightsize_mod.recommend(
        rightsize_mod.load_utilization(utilization), headroom=headroom, lookback_days=lookback
    )
    if as_json:
        print(json.dumps([r.as_dict() for r in recs], indent=2))
        return
    table(
        [
            {
                "instance": r.instance_id,
                "now": r.current,
                "to": r.target,
                "action": r.action,
                "cpu peak %": r.cpu_peak,
                "mem peak %": r.mem_peak,
                "saving/month": r.monthly_saving,
            }
            for r in recs
        ],
        "rightsizing",
    )


@schedule_app.command("plan")
def schedule_plan(
    policies: Annotated[Path, typer.Argument(help="The policy file (TOML).")],
    at: Annotated[str | None, typer.Option(help="Evaluate at this time (default now).")] = None,
    apply: Annotated[bool, typer.Option(help="Make the changes (default: dry run).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Which tagged instances the policies would start or stop now (and do it with --apply)."""
    from costopt import schedules as schedules_mod
    from costopt.aws import client

    rules = schedules_mod.load_policies(policies)
    ec2 = client("ec2")
    the_plan = schedules_mod.plan(ec2, client("cloudwatch"), rules, _when(at))
    if apply:
        schedules_mod.apply(ec2, the_plan)
    if as_json:
        print(json.dumps([asdict(a) for a in the_plan.actions], indent=2))
        return
    table(
        [asdict(a) for a in the_plan.actions],
        f"{'applied' if apply else 'dry run'} at {the_plan.at:%a %Y-%m-%d %H:%M %Z}",
    )
    console.print(f"{len(the_plan.actions)} change(s), {the_plan.unchanged} already right")


@budget_app.command("check")
def budgets_check(
    budgets: Annotated[Path, typer.Argument(help="The budget file (TOML).")],
    usage: Annotated[Path, typer.Argument(help="Daily usage CSV: date, team, cost, ...")],
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).")] = None,
    enforce: Annotated[
        bool, typer.Option(help="Carry out the actions (default: dry run).")
    ] = False,
    webhook: Annotated[str | None, typer.Option(help="POST notifications here.")] = None,
) -> None:
    """Spend against each budget; the crossed thresholds' actions (once a month each)."""
    from costopt import budgets as budgets_mod
    from costopt.aws import client

    rules = budgets_mod.load_budgets(budgets)
    frame = budgets_mod.load_usage(usage)
    day = _day(today)
    statuses = budgets_mod.evaluate(rules, frame, day)
    table(
        [
            {
                "budget": s.budget,
                "limit": s.limit,
                "spent": s.spent,
                "used": f"{s.used:.0%}",
                "forecast": s.forecast,
                "crossed": ", ".join(f"{p:g}%" for p, _ in s.fired) or "-",
            }
            for s in statuses
        ],
        f"budgets on {day}",
    )
    notify = _webhook(webhook) if webhook else None
    enforcer = budgets_mod.Enforcer(client("ec2"), client("iam"), _settings().state_file, notify)
    for line in enforcer.enforce(statuses, day, dry_run=not enforce):
        console.print(("" if enforce else "[dry run] ") + escape(line))
    table(budgets_mod.allocation(frame, day).to_dict("records"), "team allocation (month to date)")


@budget_app.command("unblock")
def budgets_unblock(
    team: Annotated[str, typer.Argument(help="The team whose launches to allow.")],
) -> None:
    """Remove the deny-launch policy a budget put on a team's IAM group."""
    from costopt import budgets as budgets_mod
    from costopt.aws import client

    removed = budgets_mod.unblock_launches(client("iam"), f"team-{team}")
    console.print(
        f"team-{escape(team)}: " + ("launches allowed again" if removed else "was not blocked")
    )


def _webhook(url: str) -> Any:
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise CostoptError(f"--webhook must be an http(s) URL, got {url!r}")

    def post(payload: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 - http(s) checked above
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - http(s) checked
        except OSError as exc:
            raise CostoptError(f"webhook {url}: {exc}") from exc

    return post


@app.command()
def spot(
    workdir: Annotated[Path, typer.Option(help="Checkpoints and the final weights.")] = Path(
        "spot-run"
    ),
    steps: Annotated[int, typer.Option(help="Training steps.")] = 120,
    instance_type: Annotated[
        str, typer.Option(help="p3.2xlarge, g5.xlarge or g4dn.xlarge.")
    ] = "p3.2xlarge",
    bid: Annotated[float | None, typer.Option(help="Max spot price (default on-demand).")] = None,
    interrupt_at: Annotated[
        list[int] | None, typer.Option(help="Also interrupt at step N.")
    ] = None,
    notice: Annotated[float, typer.Option(help="Seconds of notice (EC2: 120).")] = 2.0,
    max_interruptions: Annotated[int, typer.Option(help="Then on-demand.")] = 3,
    prices: Annotated[Path | None, typer.Option(help="Spot price history CSV.")] = None,
    step_delay: Annotated[float, typer.Option(help="Extra seconds per step.")] = 0.02,
) -> None:
    """Train on spot instances through interruptions; compare the cost with on-demand."""
    from costopt.job import TrainConfig
    from costopt.spot import SpotPlan, load_prices, run_spot

    cfg = TrainConfig(steps=steps, workdir=str(workdir), step_delay=step_delay)
    plan = SpotPlan(
        instance_type=instance_type,
        bid=bid,
        notice_seconds=notice,
        interrupt_at_steps=tuple(interrupt_at or ()),
        max_interruptions=max_interruptions,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run = run_spot(
        cfg,
        plan,
        load_prices(prices),
        stop=stop,
        log=lambda s, r: console.print(
            f"  {s.market:<9} steps {s.first_step:>3}-{s.last_step:<3} {s.ended:<11} resume at {r}"
        ),
    )
    if run.stopped:
        console.print(
            f"stopped by a signal after {run.segments[-1].last_step} steps; the "
            "checkpoint is kept: run the same command to resume"
        )
        return
    console.print(
        f"done after {run.interruptions} interruption(s): {run.cost:,.2f} on spot vs "
        f"{run.on_demand_cost:,.2f} on demand (saved {run.saving:,.2f}); "
        f"weights in {escape(str(run.final))}"
    )


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where the demo writes (default: a temp dir).")
    ] = None,
) -> None:
    """Show the exercise working (what `aiinfra run 008-05` runs)."""
    from costopt.demo import run_demo

    run_demo(workdir)


main = run_typer(app)
