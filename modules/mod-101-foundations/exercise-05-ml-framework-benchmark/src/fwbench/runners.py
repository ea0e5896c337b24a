"""One training step and one forward pass per framework, timed the same way.

A runner owns a model, its optimizer (Adam, lr 1e-3, in both frameworks) and its
compiled functions. Every method that is timed returns only after the device finished:
``torch.cuda.synchronize()`` on CUDA (``loss.item()`` also waits), ``block_until_ready()``
in JAX, whose calls otherwise return before the work is done (asynchronous dispatch).

* :class:`TorchRunner` ``compiled=False`` is PyTorch eager; ``compiled=True`` wraps the model in
  ``torch.compile`` (Inductor), which compiles on the first call of each new shape or mode.
* :class:`TensorFlowRunner` runs the Keras model's step in one ``tf.function`` (a TensorFlow
  graph, optimised by Grappler), traced ahead of time so the tracing is measured on its own.
* :class:`JaxRunner` jits the whole step (forward, backward and the Optax update) with
  ``jax.jit`` on the model's arrays (``eqx.partition``), compiled ahead of time so the compile
  time is measured on its own.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

LEARNING_RATE = 1e-3
FRAMEWORKS = ("torch", "torch-compile", "jax", "tensorflow")


class Runner(Protocol):
    """What the worker needs from a framework."""

    framework: str
    device: str

    def param_count(self) -> int: ...

    def to_input(self, x: np.ndarray) -> Any: ...

    def to_labels(self, y: np.ndarray) -> Any: ...

    def compile_train(self, x: Any, y: Any) -> float | None: ...

    def train_step(self, x: Any, y: Any) -> float: ...

    def logits(self, x: Any) -> np.ndarray: ...

    def infer(self, x: Any) -> None: ...

    def device_peak_bytes(self) -> int | None: ...


class TorchRunner:
    """PyTorch eager or ``torch.compile``."""

    def __init__(self, model: str, *, compiled: bool = False, device: str = "cpu", seed: int = 0):
        import torch

        from fwbench import models_torch

        self.torch = torch
        self.framework = "torch-compile" if compiled else "torch"
        self.device = device
        self.tokens = model != "cnn"
        self.model = models_torch.build(model, seed).to(device)
        self.forward: Any = torch.compile(self.model) if compiled else self.model
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def param_count(self) -> int:
        from fwbench.models_torch import param_count

        return param_count(self.model)

    def to_input(self, x: np.ndarray) -> Any:
        t = self.torch.from_numpy(np.ascontiguousarray(x))
        return (t.long() if self.tokens else t).to(self.device)

    def to_labels(self, y: np.ndarray) -> Any:
        return self.torch.from_numpy(y).long().to(self.device)

    def _sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def compile_train(self, x: Any, y: Any) -> float | None:
        """Nothing ahead of time: ``torch.compile`` compiles inside the first step."""
        return None

    def train_step(self, x: Any, y: Any) -> float:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.forward(x), y)
        loss.backward()
        self.optimizer.step()
        value = float(loss.item())
        self._sync()
        return value

    def logits(self, x: Any) -> np.ndarray:
        self.model.eval()
        with self.torch.inference_mode():
            out = self.forward(x)
        logits: np.ndarray = out.float().cpu().numpy()
        return logits

    def infer(self, x: Any) -> None:
        self.model.eval()
        with self.torch.inference_mode():
            self.forward(x)
        self._sync()

    def device_peak_bytes(self) -> int | None:
        if self.device == "cuda":
            return int(self.torch.cuda.max_memory_allocated())
        return None


class JaxRunner:
    """JAX + Equinox + Optax, the whole training step under one ``jax.jit``."""

    framework = "jax"

    def __init__(self, model: str, *, device: str = "cpu", seed: int = 0):
        import equinox as eqx
        import jax
        import optax

        from fwbench import models_jax

        self.jax = jax
        self.device = device
        self.tokens = model != "cnn"
        self.model = models_jax.build(model, seed)
        params, static = eqx.partition(self.model, eqx.is_inexact_array)
        optimizer = optax.adam(LEARNING_RATE)
        self.params = params
        self.opt_state = optimizer.init(params)

        def step(params: Any, opt_state: Any, x: Any, y: Any) -> tuple[Any, Any, Any]:
            def loss_fn(p: Any) -> Any:
                logits = eqx.combine(p, static)(x)
                return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

            loss, grads = jax.value_and_grad(loss_fn)(params)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        def forward(params: Any, x: Any) -> Any:
            return eqx.combine(params, static)(x)

        self._step_jit = jax.jit(step, donate_argnums=(0, 1))
        self._step: Any = None
        self._forward = jax.jit(forward)

    def param_count(self) -> int:
        from fwbench.models_jax import param_count

        return param_count(self.model)

    def to_input(self, x: np.ndarray) -> Any:
        return self.jax.device_put(x)

    def to_labels(self, y: np.ndarray) -> Any:
        return self.jax.device_put(y)

    def compile_train(self, x: Any, y: Any) -> float | None:
        """Lower and compile the step for this batch shape; the seconds it took."""
        start = time.perf_counter()
        self._step = self._step_jit.lower(self.params, self.opt_state, x, y).compile()
        return time.perf_counter() - start

    def train_step(self, x: Any, y: Any) -> float:
        step = self._step or self._step_jit
        self.params, self.opt_state, loss = step(self.params, self.opt_state, x, y)
        return float(loss.block_until_ready())

    def logits(self, x: Any) -> np.ndarray:
        return np.asarray(self._forward(self.params, x))

    def infer(self, x: Any) -> None:
        self._forward(self.params, x).block_until_ready()

    def device_peak_bytes(self) -> int | None:
        if self.device == "cpu":
            return None
        stats = self.jax.devices()[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
        return int(peak) if peak is not None else None


class TensorFlowRunner:
    """Keras 3 on TensorFlow, the training step in one ``tf.function``."""

    framework = "tensorflow"

    def __init__(self, model: str, *, device: str = "cpu", seed: int = 0):
        import keras
        import tensorflow as tf

        from fwbench import models_tf

        self.tf = tf
        self.device = device
        self.images = model == "cnn"
        self.model = models_tf.build(model, seed)
        self.optimizer = keras.optimizers.Adam(LEARNING_RATE)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        net, optimizer = self.model, self.optimizer

        def step(x: Any, y: Any) -> Any:
            with tf.GradientTape() as tape:
                loss = loss_fn(y, net(x, training=True))
            grads = tape.gradient(loss, net.trainable_weights)
            optimizer.apply_gradients(zip(grads, net.trainable_weights, strict=True))
            return loss

        self._step = tf.function(step)
        self._forward = tf.function(lambda x: net(x, training=False))

    def param_count(self) -> int:
        from fwbench.models_tf import param_count

        return param_count(self.model)

    def to_input(self, x: np.ndarray) -> Any:
        if self.images:  # NCHW -> NHWC, once, outside any timing
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        return self.tf.constant(x)

    def to_labels(self, y: np.ndarray) -> Any:
        return self.tf.constant(y)

    def compile_train(self, x: Any, y: Any) -> float | None:
        """Trace the step into a graph for this batch shape; the seconds it took."""
        start = time.perf_counter()
        self._step.get_concrete_function(x, y)
        return time.perf_counter() - start

    def train_step(self, x: Any, y: Any) -> float:
        return float(self._step(x, y).numpy())  # .numpy() waits for the result

    def logits(self, x: Any) -> np.ndarray:
        out: np.ndarray = self._forward(x).numpy()
        return out

    def infer(self, x: Any) -> None:
        self._forward(x).numpy()

    def device_peak_bytes(self) -> int | None:
        if self.device == "cpu":
            return None
        return int(self.tf.config.experimental.get_memory_info("GPU:0")["peak"])


def make_runner(framework: str, model: str, *, device: str = "cpu", seed: int = 0) -> Runner:
    """The runner of ``framework`` (one of :data:`FRAMEWORKS`) for ``model``."""
    if framework == "torch":
        return TorchRunner(model, device=device, seed=seed)
    if framework == "torch-compile":
        return TorchRunner(model, compiled=True, device=device, seed=seed)
    if framework == "jax":
        if device == "cuda":
            device = "gpu"
        return JaxRunner(model, device=device, seed=seed)
    if framework == "tensorflow":
        return TensorFlowRunner(model, device=device, seed=seed)
    raise ValueError(f"unknown framework {framework!r}; choose from {', '.join(FRAMEWORKS)}")
