"""Rich progress bars for the drivers (rank 0's steps, in process or from events.jsonl)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@contextmanager
def step_bar(console: Console, label: str) -> Iterator[Callable[[int, int, float], None]]:
    """A bar fed by the engine's ``on_step(step, total, loss)`` callback."""
    with _bar(console) as bar:
        task = bar.add_task(label, total=None, note="")

        def update(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, note=f"loss {loss:.3f}")

        yield update


@contextmanager
def event_bar(console: Console, label: str) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    """A bar fed by the launcher with the run's events (steps, restarts, resumes)."""
    with _bar(console) as bar:
        task = bar.add_task(f"{label} (starting ranks)", total=None, note="")

        def update(events: list[dict[str, Any]]) -> None:
            attempt = 0
            note = ""
            completed = total = None
            for e in events:
                if e["event"] == "start":
                    attempt = e["attempt"]
                    total = e["total_steps"]
                    if attempt:
                        note = f"restart {attempt}: resumed at step {e['start_step']}"
                elif e["event"] == "step":
                    completed, total = e["step"], e["total"]
                    note = note if attempt else f"loss {e['loss']:.3f}"
            desc = label if completed is not None else f"{label} (starting ranks)"
            bar.update(task, description=desc, completed=completed or 0, total=total, note=note)

        yield update
