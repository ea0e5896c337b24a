"""What the CLI, the demo and the benchmark share: settings from options, a training bar.

Kept apart from ``cli.py`` so the demo and the benchmark never import the CLI (the CLI is the
top of the package).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiinfra_shared import cliapp
from llmserve.config import Settings
from llmserve.errors import LlmServeError


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment, with command-line values on top (``None``: not given).

    Raises:
        LlmServeError: A value fails validation (one line naming it).
    """
    return cliapp.settings_from(Settings, LlmServeError, **overrides)


@contextmanager
def training_progress(label: str) -> Iterator[Callable[[int, int, float], None]]:
    """A progress bar fed by ``progress(step, steps, loss)``."""
    with cliapp.progress_bar(label, "loss {task.fields[loss]:.3f}") as bar:
        task = bar.add_task("", total=None, loss=float("nan"))

        def update(step: int, steps: int, loss: float) -> None:
            bar.update(task, completed=step, total=steps, loss=loss)

        yield update
