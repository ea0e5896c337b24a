"""Start N ranks with torchrun and follow them: the multi-process driver.

torchrun (``torch.distributed.run``) is PyTorch's launcher: it starts ``--nproc-per-node``
copies of the worker, hands them ``RANK``/``WORLD_SIZE``/``MASTER_ADDR`` through a c10d
rendezvous, watches them, and if one dies it stops the others and restarts the whole group
(up to ``--max-restarts`` times). The restarted ranks resume from the last checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiinfra_shared.services.base import LOOPBACK, free_port
from ddptrain.config import TrainConfig
from ddptrain.engine import micro_batch, read_events
from ddptrain.errors import ConfigError, LaunchError
from ddptrain.runner import RESULT

LOG = "torchrun.log"
#: Ranks on one machine: more processes than this only thrash (and each holds a model copy).
MAX_NPROC = 64


@dataclass
class Launched:
    """A finished torchrun job.

    Attributes:
        out: The run folder.
        summary: ``result.json`` (history, final metrics, throughput).
        events: Rank 0's events, all attempts.
        seconds: Wall time including start-up and rendezvous.
    """

    out: Path
    summary: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def attempts(self) -> int:
        """1 + the number of times torchrun restarted the group."""
        return 1 + max((e.get("attempt", 0) for e in self.events), default=0)

    @property
    def resumed_from(self) -> list[int]:
        """Start step of every attempt after the first (the checkpoints it resumed)."""
        return [e["start_step"] for e in self.events if e["event"] == "start" and e["attempt"]]


def torchrun_argv(nproc: int, port: int, max_restarts: int, module: list[str]) -> list[str]:
    """The torchrun command line for one machine with ``nproc`` ranks running ``module``."""
    return [
        sys.executable, "-m", "torch.distributed.run",
        "--nnodes=1",
        f"--nproc-per-node={nproc}",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint={LOOPBACK}:{port}",
        f"--max-restarts={max_restarts}",
        "--monitor-interval=0.5",
        "-m", *module,
    ]  # fmt: skip


def worker_env(nproc: int, threads: int | None = None) -> dict[str, str]:
    """Environment of the ranks: loopback for gloo, CPU threads split between the ranks."""
    env = dict(os.environ)
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    # torchrun shares its rendezvous TCPStore with the workers by default, and keeps it across
    # restarts: the restarted ranks then found the dead group's keys and hung in the gloo
    # connect (seen with torch 2.13). Without sharing, each attempt's rank 0 hosts a new store.
    env.setdefault("TORCH_DISABLE_SHARE_RDZV_TCP_STORE", "1")
    cores = os.cpu_count() or 1
    env["OMP_NUM_THREADS"] = str(threads or max(1, cores // nproc))
    return env


def launch(
    cfg: TrainConfig,
    out: Path,
    *,
    nproc: int = 2,
    max_restarts: int = 1,
    kill_at_step: int | None = None,
    kill_rank: int = 1,
    threads: int | None = None,
    fresh: bool = False,
    on_events: Callable[[list[dict[str, Any]]], None] | None = None,
    timeout_s: float = 600.0,
) -> Launched:
    """Run ``cfg`` on ``nproc`` ranks under torchrun and wait for it.

    Args:
        cfg: The run's configuration.
        out: Run folder; a checkpoint in it is resumed unless ``fresh``.
        nproc: Ranks (processes) on this machine.
        max_restarts: How often torchrun may restart the group after a rank dies.
        kill_at_step: SIGKILL rank ``kill_rank`` after this step, once (fault injection).
        kill_rank: The rank that dies.
        threads: CPU threads per rank (default: the cores split evenly).
        fresh: Delete the folder first.
        on_events: Called with all events so far, a few times a second.
        timeout_s: Give up (and kill the job) after this long.

    Returns:
        The finished job.

    Raises:
        LaunchError: The job failed for good (the log's tail says why) or timed out.
    """
    check_launch(cfg, nproc, kill_at_step=kill_at_step, kill_rank=kill_rank)
    if fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULT).unlink(missing_ok=True)
    config = out / "run.json"
    config.write_text(cfg.model_dump_json(indent=2))
    env = worker_env(nproc, threads)
    if kill_at_step is not None:
        env["DDPTRAIN_KILL_AT_STEP"] = str(kill_at_step)
        env["DDPTRAIN_KILL_RANK"] = str(kill_rank)
    module = ["ddptrain.runner", "--config", str(config), "--out", str(out)]
    started = time.monotonic()
    code = run_torchrun(
        module,
        out,
        nproc=nproc,
        max_restarts=max_restarts,
        env=env,
        on_events=on_events,
        timeout_s=timeout_s,
    )
    events = read_events(out)
    if code != 0 or not (out / RESULT).exists():
        cause = rank_error(out)
        if cause is not None:  # the rank's own words first: a config error must not be cut
            raise LaunchError(f"torchrun exited with {code}: {cause} (log: {out / LOG})")
        raise LaunchError(f"torchrun exited with {code}; last log lines:\n{log_tail(out)}")
    summary = json.loads((out / RESULT).read_text())
    return Launched(out=out, summary=summary, events=events, seconds=time.monotonic() - started)


_RANK_ERROR = re.compile(r"^\[rank(\d+)\]: ([A-Za-z_][\w.]*(?:Error|Exception|Interrupt)): (.+)$")


def rank_error(out: Path) -> str | None:
    """Why the job died, as one line, from the torchrun log: the rank torchrun names as the
    root cause and its exception (``rank 0: ConfigError: ...``) or its signal (``rank 1:
    killed by SIGKILL``). None when the log says neither."""
    path = out / LOG
    if not path.exists():
        return None
    lines = path.read_text(errors="replace").splitlines()
    errors: dict[str, str] = {}
    for line in lines:
        found = _RANK_ERROR.match(line.strip())
        if found and found.group(1) not in errors:
            rank, kind, message = found.groups()
            errors[rank] = f"{kind.rsplit('.', 1)[-1]}: {message}"
    root_rank = root_code = None
    if "Root Cause (first observed failure):" in lines:
        for line in lines[lines.index("Root Cause (first observed failure):") :]:
            if m := re.match(r"\s*rank\s*:\s*(\d+)", line):
                root_rank = m.group(1)
            elif m := re.match(r"\s*exitcode\s*:\s*(-?\d+)", line):
                root_code = int(m.group(1))
    if root_rank is not None and root_code is not None and root_code < 0:
        try:
            name = signal.Signals(-root_code).name
        except ValueError:
            name = f"signal {-root_code}"
        return f"rank {root_rank}: killed by {name}"
    if root_rank is not None and root_rank in errors:
        return f"rank {root_rank}: {errors[root_rank]}"
    if errors:
        rank, error = next(iter(errors.items()))
        return f"rank {rank}: {error}"
    return None


def check_launch(
    cfg: TrainConfig, nproc: int, *, kill_at_step: int | None = None, kill_rank: int = 1
) -> None:
    """What would make a launch fail in every rank, refused before anything starts.

    Raises:
        ConfigError: ``nproc`` is out of range, ``kill_rank`` is not one of the ranks, or the
            global batch does not split over ``nproc`` ranks and the accumulation steps.
    """
    if not 1 <= nproc <= MAX_NPROC:
        raise ConfigError(f"--nproc must be 1 to {MAX_NPROC}, got {nproc}")
    if kill_at_step is not None and nproc == 1:
        raise ConfigError("--kill-at-step needs --nproc 2 or more (it kills a torchrun rank)")
    if kill_at_step is not None and not 0 <= kill_rank < nproc:
        raise ConfigError(f"--kill-rank {kill_rank} is not a rank of {nproc} (0 to {nproc - 1})")
    if kill_at_step is not None and kill_at_step < 1:
        raise ConfigError(f"--kill-at-step must be at least 1, got {kill_at_step}")
    micro_batch(cfg, nproc)


def log_tail(out: Path, lines: int = 15) -> str:
    """What a failed run's torchrun log says: the first error the ranks printed, then the end.

    torchrun's own summary (the end of the log) names the rank and the signal; the cause
    (a Python traceback, gloo's or the C++ runtime's message) is usually further up.
    """
    path = out / LOG
    if not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    tail = text[-lines:]
    first = next(
        (
            i
            for i, line in enumerate(text[:-lines])
            if re.search(r"Traceback|Error|terminate called|what\(\)|Abort", line)
        ),
        None,
    )
    if first is None:
        return "\n".join(tail)
    cause = text[first : min(first + 12, len(text) - lines)]
    return "\n".join([*cause, "...", *tail])


def run_torchrun(
    module: list[str],
    out: Path,
    *,
    nproc: int,
    max_restarts: int = 0,
    env: dict[str, str] | None = None,
    on_events: Callable[[list[dict[str, Any]]], None] | None = None,
    timeout_s: float = 600.0,
) -> int:
    """Run ``python -m <module...>`` on ``nproc`` ranks; its output goes to ``out/torchrun.log``.

    Returns:
        torchrun's exit code (0 when every rank of the last attempt succeeded).

    Raises:
        LaunchError: Timed out (the whole process group is killed).
    """
    out.mkdir(parents=True, exist_ok=True)
    argv = torchrun_argv(nproc, free_port(), max_restarts, module)
    started = time.monotonic()
    with (out / LOG).open("ab") as log:
        proc = subprocess.Popen(
            argv,
            env=env or worker_env(nproc),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while proc.poll() is None:
                if on_events is not None:
                    on_events(read_events(out))
                if time.monotonic() - started > timeout_s:
                    raise LaunchError(
                        f"torchrun did not finish in {timeout_s:.0f} s (log: {out / LOG})"
                    )
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if on_events is not None:
        on_events(read_events(out))
    return proc.returncode


def allreduce_check(
    out: Path, *, nproc: int, device: str = "auto", sizes_mb: str = "1,16"
) -> dict[str, Any]:
    """Run :mod:`ddptrain.collectives` on ``nproc`` ranks and return rank 0's report.

    Raises:
        LaunchError: The ranks failed.
    """
    from ddptrain.collectives import REPORT

    if not 1 <= nproc <= MAX_NPROC:
        raise ConfigError(f"--nproc must be 1 to {MAX_NPROC}, got {nproc}")
    try:
        sizes = [float(x) for x in sizes_mb.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--sizes-mb must be numbers with commas, got {sizes_mb!r}") from None
    if not sizes or not all(0 < x <= 4096 for x in sizes):
        raise ConfigError(f"--sizes-mb must be sizes in (0, 4096] MB, got {sizes_mb!r}")
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT).unlink(missing_ok=True)
    module = ["ddptrain.collectives", "--out", str(out), "--device", device, "--sizes-mb", sizes_mb]
    code = run_torchrun(module, out, nproc=nproc)
    if code != 0 or not (out / REPORT).exists():
        cause = rank_error(out)
        if cause is not None:
            raise LaunchError(f"all-reduce check failed ({code}): {cause} (log: {out / LOG})")
        raise LaunchError(f"all-reduce check failed ({code}):\n{log_tail(out)}")
    report: dict[str, Any] = json.loads((out / REPORT).read_text())
    return report
