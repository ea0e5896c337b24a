"""Spot training: an EC2-style metadata service, a price history, and a supervisor that
relaunches an interrupted job until it is done, falling back to on-demand after N interruptions.

The supervisor runs the real trainer (:mod:`costopt.trainer`) as a subprocess per "instance".
When the market says the instance is reclaimed (the spot price rose above the bid, or a step
the caller scheduled), the metadata service starts answering
``/latest/meta-data/spot/instance-action`` with the termination time, ``notice_seconds`` ahead
(EC2: 120 s). The trainer checkpoints and exits; one that is still running at the deadline is
killed (SIGKILL, as the hypervisor would), and the next instance resumes from the last
checkpoint it managed to write.

Cost is counted on a simulated clock: each training step stands for ``step_hours`` of instance
time, billed at the spot price in force (from the price history) or on-demand, and the steps
recomputed after a kill are paid for too.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from costopt.errors import CostoptError
from costopt.job import TrainConfig, config_json, run_identity

ON_DEMAND = {"p3.2xlarge": 3.06, "g5.xlarge": 1.006, "g4dn.xlarge": 0.526}


class MetadataService:
    """The part of the EC2 instance metadata service (IMDSv2) a spot workload reads."""

    def __init__(self) -> None:
        self.action: dict[str, str] | None = None
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # IMDSv2: a session token first
                if self.path != "/latest/api/token":
                    self._send(404, b"")
                    return
                self._send(200, b"costopt-imds-token")

            def do_GET(self) -> None:
                if self.path == "/latest/meta-data/spot/instance-action":
                    if service.action is None:
                        self._send(404, b"Not Found")
                    else:
                        self._send(200, json.dumps(service.action).encode())
                elif self.path == "/latest/meta-data/instance-life-cycle":
                    self._send(200, b"spot")
                else:
                    self._send(404, b"Not Found")

            def _send(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def schedule_termination(self, at: datetime) -> None:
        self.action = {"action": "terminate", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def clear(self) -> None:
        self.action = None

    def __enter__(self) -> MetadataService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class PricePoint:
    at: datetime
    instance_type: str
    zone: str
    price: float


def load_prices(path: Path | None = None) -> list[PricePoint]:
    """A spot price history in ``aws ec2 describe-spot-price-history`` columns (CSV:
    Timestamp, InstanceType, AvailabilityZone, SpotPrice); the shipped one by default."""
    text = (
        path.read_text()
        if path
        else resources.files("costopt").joinpath("data/spot_prices.csv").read_text()
    )
    points = []
    for n, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            points.append(
                PricePoint(
                    datetime.fromisoformat(row["Timestamp"].replace("Z", "+00:00")),
                    row["InstanceType"],
                    row["AvailabilityZone"],
                    float(row["SpotPrice"]),
                )
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise CostoptError(f"{path or 'spot_prices.csv'}:{n}: bad price row ({exc})") from exc
    if not points:
        raise CostoptError(f"{path}: no price rows")
    return sorted(points, key=lambda p: p.at)


def price_at(prices: list[PricePoint], instance_type: str, zone: str, at: datetime) -> float:
    """The spot price in force at ``at`` (the last change before it)."""
    current = None
    for p in prices:
        if p.instance_type == instance_type and p.zone == zone and p.at <= at:
            current = p.price
    if current is None:
        raise CostoptError(f"no spot price for {instance_type} in {zone} at {at:%Y-%m-%d %H:%M}")
    return current


def cheapest_zone(prices: list[PricePoint], instance_type: str, at: datetime) -> tuple[str, float]:
    zones = {p.zone for p in prices if p.instance_type == instance_type}
    if not zones:
        raise CostoptError(f"no spot prices for {instance_type}")
    return min(((z, price_at(prices, instance_type, z, at)) for z in zones), key=lambda t: t[1])


@dataclass
class Segment:
    """One instance's life: which market, which steps it ran, how it ended."""

    market: str
    zone: str
    price: float
    first_step: int
    last_step: int
    ended: str  # done, interrupted (checkpointed), killed (deadline passed)
    paid_steps: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class SpotRun:
    """What a spot run cost, against running it on demand."""

    segments: list[Segment] = field(default_factory=list)
    interruptions: int = 0
    stopped: bool = False  # SIGTERM: the trainer checkpointed; the same command resumes
    cost: float = 0.0
    on_demand_cost: float = 0.0
    final: Path | None = None

    @property
    def saving(self) -> float:
        return round(self.on_demand_cost - self.cost, 4)


@dataclass
class SpotPlan:
    """How the market behaves for a run."""

    instance_type: str = "p3.2xlarge"
    bid: float | None = None  # max price; None = the on-demand price (AWS's default)
    start: datetime = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    step_hours: float = 0.1  # instance time one training step stands for
    interrupt_at_steps: tuple[int, ...] = ()  # extra, scheduled interruptions (tests, drills)
    notice_seconds: float = 120.0
    max_interruptions: int = 3  # then on-demand
    kill_grace: float = 0.0  # seconds after the deadline before SIGKILL


@contextmanager
def _process(cfg: TrainConfig) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "costopt.trainer", config_json(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _progress(cfg: TrainConfig) -> int:
    try:
        return int(json.loads(cfg.progress.read_text())["step"])
    except (OSError, ValueError, KeyError):
        return 0


def _check_plan(plan: SpotPlan, bid: float) -> None:
    problems = []
    if not (math.isfinite(bid) and bid > 0):
        problems.append(f"the bid must be a positive price, got {bid}")
    if not (math.isfinite(plan.notice_seconds) and 0 <= plan.notice_seconds <= 3600):
        problems.append(f"the notice must be 0-3600 s, got {plan.notice_seconds}")
    if plan.max_interruptions < 0:
        problems.append(f"max interruptions must be >= 0, got {plan.max_interruptions}")
    if not (math.isfinite(plan.step_hours) and plan.step_hours > 0):
        problems.append(f"step hours must be positive, got {plan.step_hours}")
    if problems:
        raise CostoptError("; ".join(problems))


def _check_resumable(cfg: TrainConfig) -> None:
    """A checkpoint left by another run (another seed, batch, rate or length) is refused: it
    would otherwise be resumed and its weights reported as this run's."""
    if not (1 <= cfg.steps <= 1_000_000):
        raise CostoptError(f"--steps must be between 1 and 1,000,000, got {cfg.steps}")
    if not (math.isfinite(cfg.step_delay) and 0 <= cfg.step_delay <= 60):
        raise CostoptError(f"--step-delay must be 0-60 s, got {cfg.step_delay}")
    side = cfg.checkpoint.with_suffix(".json")
    if not side.exists():
        return
    try:
        saved = json.loads(side.read_text()).get("run")
    except (OSError, ValueError) as exc:
        raise CostoptError(f"{side}: unreadable checkpoint record ({exc})") from exc
    if saved != run_identity(cfg):
        raise CostoptError(
            f"{cfg.workdir} holds a checkpoint of another run ({saved}); use another --workdir "
            "or delete it"
        )


def _checkpoint_step(cfg: TrainConfig) -> int:
    """The step of the last checkpoint (from the JSON the trainer writes beside it)."""
    try:
        return int(json.loads(cfg.checkpoint.with_suffix(".json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return 0


def run_spot(
    cfg: TrainConfig,
    plan: SpotPlan,
    prices: list[PricePoint] | None = None,
    *,
    log: Any = None,
    stop: threading.Event | None = None,
) -> SpotRun:
    """Run the job to the end on spot instances, relaunching after each interruption.

    ``stop`` (set by the CLI on SIGTERM/SIGINT) ends the run early: the trainer gets SIGTERM,
    checkpoints and exits; nothing outlives the supervisor, and the same call resumes.
    """
    prices = prices if prices is not None else load_prices()
    on_demand = ON_DEMAND.get(plan.instance_type)
    if on_demand is None:
        raise CostoptError(
            f"no on-demand price for {plan.instance_type}; use one of {', '.join(ON_DEMAND)}"
        )
    bid = plan.bid if plan.bid is not None else on_demand
    _check_plan(plan, bid)
    _check_resumable(cfg)
    pending = sorted(plan.interrupt_at_steps)
    run = SpotRun(on_demand_cost=round(cfg.steps * plan.step_hours * on_demand, 4))
    Path(cfg.workdir).mkdir(parents=True, exist_ok=True)
    with MetadataService() as imds:
        cfg = TrainConfig(**{**cfg.__dict__, "imds": imds.url})
        while True:
            start_step = _checkpoint_step(cfg)
            sim_now = plan.start + timedelta(hours=start_step * plan.step_hours)
            spot_ok = run.interruptions < plan.max_interruptions
            if spot_ok:
                zone, price = cheapest_zone(prices, plan.instance_type, sim_now)
                market = "spot" if price <= bid else "on-demand"  # priced out: on demand
            else:
                zone, price, market = "any", on_demand, "on-demand"
            if market == "on-demand":
                price = on_demand
            imds.clear()
            ended, reached = _run_instance(
                cfg, plan, prices, imds, market, zone, bid, pending, stop or threading.Event()
            )
            if pending and ended != "done":
                while pending and pending[0] <= reached:
                    pending.pop(0)
            resumed_from = _checkpoint_step(cfg) if ended != "done" else reached
            paid = reached - start_step
            run.segments.append(Segment(market, zone, price, start_step, reached, ended, paid))
            run.cost += paid * plan.step_hours * price
            if log:
                log(run.segments[-1], resumed_from)
            if ended == "done":
                break
            if ended == "stopped":
                run.stopped = True
                break
            run.interruptions += 1
    run.cost = round(run.cost, 4)
    run.final = cfg.final if not run.stopped else None
    return run


def _run_instance(
    cfg: TrainConfig,
    plan: SpotPlan,
    prices: list[PricePoint],
    imds: MetadataService,
    market: str,
    zone: str,
    bid: float,
    pending: list[int],
    stop: threading.Event,
) -> tuple[str, int]:
    """One instance: run until done, or deliver the notice and wait out the deadline."""
    with _process(cfg) as proc:
        deadline: float | None = None
        while proc.poll() is None:
            if stop.is_set():  # our own SIGTERM: the trainer checkpoints on its SIGTERM
                proc.terminate()
                try:
                    proc.wait(timeout=max(plan.notice_seconds, 10.0))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                return "stopped", _progress(cfg)
            step = _progress(cfg)
            if market == "spot" and deadline is None:
                sim_now = plan.start + timedelta(hours=step * plan.step_hours)
                outbid = price_at(prices, plan.instance_type, zone, sim_now) > bid
                scheduled = bool(pending) and step >= pending[0]
                if outbid or scheduled:
                    deadline = time.monotonic() + plan.notice_seconds
                    imds.schedule_termination(
                        datetime.now(UTC) + timedelta(seconds=plan.notice_seconds)
                    )
            if deadline is not None and time.monotonic() > deadline + plan.kill_grace:
                proc.kill()  # reclaimed: whatever was not checkpointed is lost
                proc.wait()
                return "killed", _progress(cfg)
            time.sleep(0.005)
        out, err = proc.communicate()
        if proc.returncode == 0:
            return "done", _progress(cfg)
        if proc.returncode == 3:
            return "interrupted", _progress(cfg)
        raise CostoptError(
            f"the training process failed (exit {proc.returncode}): "
            f"{(err or out).strip().splitlines()[-1:] or ''}"
        )
