"""A torch training job that survives spot interruptions.

It checkpoints every ``checkpoint_every`` steps and, when the instance metadata service says the
instance will be reclaimed (``/latest/meta-data/spot/instance-action``, as EC2 gives two minutes
before), at once: model, optimizer, the data sampler's generator, torch's global RNG (dropout)
and the step, written to a temporary file and renamed, so a kill never leaves half a file. A new
process resumes from it and ends with exactly the weights of an uninterrupted run with the same
seed (the tests check ``torch.equal`` on every tensor).

Run as ``python -m costopt.trainer CONFIG_JSON``; exit code 0 done, 3 interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import torch
from torch import nn

from costopt.job import TrainConfig, run_identity

EXIT_INTERRUPTED = 3
logger = logging.getLogger(__name__)


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 2))


def make_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(2048, 16, generator=g)
    w = torch.randn(16, generator=g)
    y = ((x @ w + 0.3 * torch.randn(2048, generator=g)) > 0).long()
    return x, y


class NoticeWatcher:
    """Polls the metadata service (and listens for SIGTERM) for an interruption notice."""

    def __init__(self, imds: str | None, interval: float = 0.1) -> None:
        self.imds = imds
        self.interval = interval
        self.noticed = threading.Event()
        self.action: dict[str, Any] | None = None
        self._stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_sigterm)
        if imds:
            threading.Thread(target=self._poll, daemon=True).start()

    def _on_sigterm(self, *_: object) -> None:
        self.action = {"action": "terminate", "source": "SIGTERM"}
        self.noticed.set()

    def _poll(self) -> None:
        url = f"{self.imds}/latest/meta-data/spot/instance-action"
        while not self._stop.is_set() and not self.noticed.is_set():
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                    self.action = json.loads(response.read())
                    self.noticed.set()
            except urllib.error.HTTPError:
                pass  # 404: no interruption scheduled
            except (OSError, ValueError):
                pass  # the metadata service is briefly unreachable: keep polling
            self._stop.wait(self.interval)

    def close(self) -> None:
        self._stop.set()


def _save(cfg: TrainConfig, state: dict[str, Any]) -> None:
    tmp = cfg.checkpoint.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(cfg.checkpoint)  # atomic: a kill leaves the old or the new, never half
    # The step beside it, for the supervisor (which then never needs to import torch).
    side = cfg.checkpoint.with_suffix(".json.tmp")
    side.write_text(json.dumps({"step": state["step"], "run": run_identity(cfg)}))
    side.replace(cfg.checkpoint.with_suffix(".json"))


def train(cfg: TrainConfig) -> int:
    """Train from the checkpoint if there is one. Returns the exit code."""
    torch.set_num_threads(1)  # bit-for-bit reproducible matmuls
    Path(cfg.workdir).mkdir(parents=True, exist_ok=True)
    model = make_model(cfg.seed)
    optim = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
    x, y = make_data(cfg.seed)
    sampler = torch.Generator().manual_seed(cfg.seed + 2)
    torch.manual_seed(cfg.seed + 3)  # dropout
    step, losses = 0, []
    if cfg.checkpoint.exists():
        state = torch.load(cfg.checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        sampler.set_state(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        step, losses = state["step"], state["losses"]
    watcher = NoticeWatcher(cfg.imds)
    loss_fn = nn.CrossEntropyLoss()

    def snapshot() -> dict[str, Any]:
        return {
            "model": model.state_dict(),
            "optim": optim.state_dict(),
            "sampler": sampler.get_state(),
            "torch_rng": torch.get_rng_state(),
            "step": step,
            "losses": losses,
        }

    try:
        model.train()
        while step < cfg.steps:
            idx = torch.randint(0, len(x), (cfg.batch,), generator=sampler)
            optim.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optim.step()
            step += 1
            losses.append(loss.item())
            if cfg.step_delay:
                time.sleep(cfg.step_delay)
            cfg.progress.write_text(json.dumps({"step": step, "pid": os.getpid()}))
            if watcher.noticed.is_set():
                _save(cfg, snapshot())
                logger.info("interrupted at step %d: %s", step, watcher.action)
                return EXIT_INTERRUPTED
            if step % cfg.checkpoint_every == 0:
                _save(cfg, snapshot())
        torch.save(model.state_dict(), cfg.final)
        logger.info("done: %d steps, loss %.4f", step, losses[-1])
        return 0
    finally:
        watcher.close()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m costopt.trainer CONFIG_JSON", file=sys.stderr)
        raise SystemExit(2)
    code = train(TrainConfig(**json.loads(args[0])))
    sys.stdout.flush()
    sys.stderr.flush()
    # The checkpoint is on disk: leave now. A normal interpreter teardown with torch loaded
    # takes about a second, a second the spot notice may not have.
    os._exit(code)


if __name__ == "__main__":
    main()
