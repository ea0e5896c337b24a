"""What the CLI and the demo print: progress over ingestion, answers with their citations.

Kept apart from ``cli.py`` so the demo and the CLI share it without importing each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from aiinfra_shared.cliapp import console, settings_from
from ragkit.config import RagSettings
from ragkit.errors import RagkitError

if TYPE_CHECKING:
    from ragkit.index import IngestReport
    from ragkit.pipeline import Answer
    from ragkit.rag import Rag


def rag_settings(**overrides: Any) -> RagSettings:
    """Settings from the environment, with command-line values on top (``None``: not given)."""
    return settings_from(RagSettings, RagkitError, **overrides)


def open_rag(settings: RagSettings) -> Rag:
    """Load the models (with a spinner: it takes seconds) and open the index."""
    from ragkit.rag import Rag

    models = "all-MiniLM-L6-v2"
    if settings.generator == "smollm2" and not settings.llm_url:
        models += " and SmolLM2-135M-Instruct (the first time: converting it, ~20 s)"
    with console.status(f"loading {models} and opening the index"):
        return Rag(settings)


def print_report(report: IngestReport) -> None:
    """One line per outcome, then every failure with its reason."""
    console.print(
        f"added {len(report.added)}, replaced {len(report.replaced)}, "
        f"unchanged {len(report.unchanged)}, failed {len(report.failed)}; "
        f"{report.chunks_written} chunks written"
    )
    for source, reason in report.failed:
        console.print(f"[red]skipped[/red] {escape(source)}: {escape(reason)}", highlight=False)


def ingest_with_progress(rag: Rag, paths: list[Path]) -> IngestReport:
    """Ingest with a Rich progress bar over files."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.description}"))  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def step(source: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=source)

        return rag.ingest(paths, step)


def print_answer(answer: Answer) -> None:
    """The answer, then its citations and the latency breakdown."""
    colour = "green" if answer.answered else "yellow"
    console.print(f"[bold]Q:[/bold] {escape(answer.question)}", highlight=False)
    console.print(
        f"[{colour}]A ({answer.mode}):[/{colour}] {escape(answer.answer)}", highlight=False
    )
    for c in answer.citations:
        where = c["source"] + (f", page {c['page']}" if c.get("page") else "")
        where += f" > {c['section']}" if c.get("section") and not c.get("page") else ""
        console.print(
            f"   \\[{c['n']}] {escape(where)}  (similarity {c['similarity']})", highlight=False
        )
    for sentence in answer.unsupported:
        console.print(f"   [red]not supported by the retrieved text:[/red] {escape(sentence)}",
                      highlight=False)  # fmt: skip
    timing = ", ".join(f"{k} {v:.0f} ms" for k, v in answer.latency_ms.items())
    grounded = {True: "grounded", False: "NOT grounded", None: "not answered"}[answer.grounded]
    console.print(f"   confidence {answer.confidence:.2f}; {grounded}; {timing}", style="dim",
                  highlight=False)  # fmt: skip
