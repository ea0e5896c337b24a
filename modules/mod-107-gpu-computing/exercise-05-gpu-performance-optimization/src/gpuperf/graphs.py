"""CUDA graphs: capture a whole training step once and replay it (CUDA only).

An overhead-bound loop spends its time launching many small kernels. A CUDA graph records the
kernels of one step (forward, backward, optimizer) into a graph that the GPU replays with one
launch. The model allows it here: static shapes, no data-dependent control flow, no CPU sync
inside the step, and an optimizer whose state lives on the device (SGD with momentum).

The recipe follows PyTorch's "whole network capture" (``torch.cuda.graph``): warm up on a side
stream, capture into static input/output tensors, then copy each new batch into the static
inputs and replay.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from torch import nn

from gpuperf.config import RunConfig
from gpuperf.errors import ConfigError
from gpuperf.loop import build_model, resolve_device


def graphed_vs_eager(cfg: RunConfig, steps: int = 20, warmup: int = 3) -> dict[str, Any]:
    """Train the same model on the same batches eagerly and by graph replay.

    Returns:
        ``eager_ms`` and ``graph_ms`` (median step), and both loss lists: they must agree.

    Raises:
        ConfigError: no CUDA, or a setting CUDA graphs cannot capture here.
    """
    if resolve_device(cfg) != "cuda":
        raise ConfigError("CUDA graphs need a CUDA device")
    if cfg.compile or cfg.precision != "fp32" or cfg.checkpointing or cfg.accum != 1:
        raise ConfigError("this CUDA graph demo captures the plain fp32 step only")
    gen = torch.Generator(device="cuda").manual_seed(cfg.seed)
    shape = (cfg.batch, 3, cfg.image_size, cfg.image_size)
    xs = [torch.randn(shape, device="cuda", generator=gen) for _ in range(warmup + steps)]
    ys = [torch.randint(0, 10, (cfg.batch,), device="cuda", generator=gen) for _ in xs]
    loss_fn = nn.CrossEntropyLoss()

    def fresh() -> tuple[nn.Module, torch.optim.Optimizer]:
        model = build_model(cfg, "cuda")
        return model, torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)

    # eager reference
    model, opt = fresh()
    eager_losses, eager_s = [], []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        torch.cuda.synchronize()
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        if i >= warmup:
            eager_s.append(time.perf_counter() - start)
        eager_losses.append(float(loss))

    # capture: warm-up steps on a side stream (they also create the momentum buffers)
    model, opt = fresh()
    static_x, static_y = xs[0].clone(), ys[0].clone()
    graph_losses: list[float] = []
    side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for x, y in zip(xs[:warmup], ys[:warmup], strict=True):
            static_x.copy_(x)
            static_y.copy_(y)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(static_x), static_y)
            loss.backward()
            opt.step()
            graph_losses.append(float(loss))
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = loss_fn(model(static_x), static_y)
        static_loss.backward()
        opt.step()
    graph_s = []
    for x, y in zip(xs[warmup:], ys[warmup:], strict=True):
        torch.cuda.synchronize()
        start = time.perf_counter()
        static_x.copy_(x)
        static_y.copy_(y)
        graph.replay()
        torch.cuda.synchronize()
        graph_s.append(time.perf_counter() - start)
        graph_losses.append(float(static_loss))
    return {
        "eager_ms": statistics.median(eager_s) * 1e3,
        "graph_ms": statistics.median(graph_s) * 1e3,
        "eager_losses": eager_losses,
        "graph_losses": graph_losses,
    }
