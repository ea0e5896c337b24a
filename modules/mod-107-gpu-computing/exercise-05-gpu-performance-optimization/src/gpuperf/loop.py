"""The training loop every measurement runs, with each optimization as a switch.

:func:`train` runs ``warmup + steps`` optimizer steps of a :class:`~gpuperf.config.RunConfig`
and returns what was measured: the time of each step (the device synchronized before the clock
is read), how long of it was spent waiting for the DataLoader, the losses, the memory.

Memory is measured two ways:

* ``activation_mb``: the bytes autograd saves for the backward pass during one forward of a
  micro-batch (``torch.autograd.graph.saved_tensors_hooks``, each storage counted once). This is
  what checkpointing, accumulation and mixed precision change, and it is measured the same way
  on CPU and GPU;
* ``device_peak_mb``: on CUDA, ``torch.cuda.max_memory_allocated()`` over the timed steps.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from gpuperf.config import RunConfig
from gpuperf.data import JpegImages
from gpuperf.errors import ConfigError
from gpuperf.model import ResNetSmall

_DATASETS: dict[tuple[int, int, int], JpegImages] = {}


def resolve_device(cfg: RunConfig) -> str:
    """``cpu`` or ``cuda`` for ``cfg.device``; refuses what this machine cannot run."""
    has_cuda = torch.cuda.is_available()
    device = ("cuda" if has_cuda else "cpu") if cfg.device == "auto" else cfg.device
    if device == "cuda" and not has_cuda:
        raise ConfigError("device cuda: this machine has no CUDA device (use --device cpu)")
    if cfg.precision == "fp16" and device != "cuda":
        raise ConfigError("fp16 needs CUDA (fp16 autocast + GradScaler); use bf16 on CPU")
    if cfg.pin_memory and device != "cuda":
        raise ConfigError("pin_memory only helps copies to a GPU; this run is on CPU")
    return device


def dataset(cfg: RunConfig) -> JpegImages:
    """The dataset of ``cfg`` (built once per process and shape: encoding takes a moment)."""
    key = (cfg.samples, cfg.image_size, cfg.seed)
    if key not in _DATASETS:
        _DATASETS[key] = JpegImages(cfg.samples, cfg.image_size, cfg.seed)
    return _DATASETS[key]


def make_loader(cfg: RunConfig, data: JpegImages, *, shuffle: bool = True) -> DataLoader[Any]:
    """The DataLoader of ``cfg`` (micro-batches, seeded shuffling, the loader switches)."""
    generator = torch.Generator().manual_seed(cfg.seed)
    options: dict[str, Any] = {}
    if cfg.num_workers:
        options["persistent_workers"] = cfg.persistent_workers
        if cfg.prefetch_factor:
            options["prefetch_factor"] = cfg.prefetch_factor
    return DataLoader(
        data,
        batch_size=cfg.micro_batch,
        shuffle=shuffle,
        drop_last=True,
        num_workers=cfg.num_workers,
        pin_memory=cfg.pin_memory,
        generator=generator,
        **options,
    )


def batches(
    loader: DataLoader[Any], data: JpegImages
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Micro-batches forever, epoch after epoch (``set_epoch`` changes the augmentation)."""
    epoch = 0
    while True:
        data.set_epoch(epoch)
        yield from loader
        epoch += 1


def build_model(cfg: RunConfig, device: str) -> nn.Module:
    """The seeded model of ``cfg`` on ``device`` (channels-last when asked)."""
    torch.manual_seed(cfg.seed)
    model = ResNetSmall(cfg.width, cfg.blocks, checkpointing=cfg.checkpointing).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model


def autocast(cfg: RunConfig, device: str) -> contextlib.AbstractContextManager[Any]:
    """The autocast context of ``cfg.precision`` (a no-op for fp32)."""
    if cfg.precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if cfg.precision == "bf16" else torch.float16
    return torch.autocast(device_type=device, dtype=dtype)


def sync(device: str) -> None:
    """Wait for the device: CUDA kernels run asynchronously from the Python that queued them."""
    if device == "cuda":
        torch.cuda.synchronize()


def to_device(x: torch.Tensor, cfg: RunConfig, device: str) -> torch.Tensor:
    """Move a batch of images, non-blocking from pinned memory, NHWC when asked."""
    x = x.to(device, non_blocking=cfg.pin_memory)
    if cfg.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


@contextlib.contextmanager
def saved_bytes() -> Iterator[Callable[[], int]]:
    """Count the bytes autograd saves for backward inside the block (each storage once)."""
    seen: dict[tuple[str, int], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[(str(t.device), storage.data_ptr())] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield lambda: sum(seen.values())


def activation_mb(cfg: RunConfig, batch: int | None = None) -> float:
    """MiB saved for backward by one forward of a ``batch``-sample micro-batch (default: the
    config's micro-batch), with the config's precision, checkpointing and memory format."""
    device = resolve_device(cfg)
    model = build_model(cfg, device)
    model.train()
    x = torch.randn(batch or cfg.micro_batch, 3, cfg.image_size, cfg.image_size, device=device)
    x = to_device(x, cfg, device)
    with saved_bytes() as total, autocast(cfg, device):
        logits = model(x)
        loss = logits.float().logsumexp(dim=1).mean()
    size = total()
    del loss, logits
    return size / 2**20


@dataclass
class RunResult:
    """What one :func:`train` measured (the timed steps only, warm-up excluded)."""

    config: dict[str, Any]
    device: str
    step_s: list[float] = field(default_factory=list)
    data_wait_s: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    first_step_s: float = 0.0
    activation_mb: float = 0.0
    device_peak_mb: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def train(
    cfg: RunConfig,
    steps: int,
    warmup: int = 2,
    *,
    on_step: Callable[[int, float], None] | None = None,
) -> RunResult:
    """Run ``warmup + steps`` optimizer steps of ``cfg`` and measure the last ``steps``.

    Args:
        cfg: The setup.
        steps: Timed optimizer steps.
        warmup: Untimed steps first (compilation, allocator warm-up, worker start); the first
            step's time is kept apart in ``first_step_s``.
        on_step: Called with (step index, loss) after each step.
    """
    device = resolve_device(cfg)
    data = dataset(cfg)
    loader = make_loader(cfg, data)
    model = build_model(cfg, device)
    forward: Any = torch.compile(model) if cfg.compile else model
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
    scaler = torch.amp.GradScaler(device, enabled=cfg.precision == "fp16")
    loss_fn = nn.CrossEntropyLoss()
    result = RunResult(config=cfg.model_dump(), device=device)
    result.activation_mb = activation_mb(cfg)
    stream = batches(loader, data)
    model.train()
    try:
        for step in range(warmup + steps):
            if step == warmup and device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            sync(device)
            start = time.perf_counter()
            waited = 0.0
            total = 0.0
            for _ in range(cfg.accum):
                t0 = time.perf_counter()
                x, y = next(stream)
                x, y = to_device(x, cfg, device), y.to(device, non_blocking=cfg.pin_memory)
                waited += time.perf_counter() - t0
                with autocast(cfg, device):
                    loss = loss_fn(forward(x), y) / cfg.accum
                scaler.scale(loss).backward()
                total += float(loss.detach())
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            sync(device)
            elapsed = time.perf_counter() - start
            if step == 0:
                result.first_step_s = elapsed
            if step >= warmup:
                result.step_s.append(elapsed)
                result.data_wait_s.append(waited)
                result.losses.append(total)
            if on_step:
                on_step(step, total)
    finally:
        del stream  # stops the workers
    if device == "cuda":
        result.device_peak_mb = torch.cuda.max_memory_allocated() / 2**20
    return result
