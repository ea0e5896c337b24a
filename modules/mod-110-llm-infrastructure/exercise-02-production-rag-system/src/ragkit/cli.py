"""The ``ragkit`` command: corpus, ingest, docs, delete, query, eval, serve, demo.

Heavy imports (torch, the embedding model, Chroma) happen inside the commands, so ``--help``
and argument errors are instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer
from ragkit.errors import RagkitError
from ragkit.ui import ingest_with_progress, open_rag, print_answer, print_report, rag_settings

if TYPE_CHECKING:
    pass

app = package_app(
    "110-02: production RAG with LangChain, MiniLM embeddings, Chroma and hybrid retrieval."
)

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


def parse_filters(pairs: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs into metadata filters (numbers become ints: ``page=2``).

    Raises:
        RagkitError: A pair without ``=`` or with an unknown key.
    """
    from pydantic import ValidationError

    from ragkit.filters import Filters

    allowed = tuple(Filters.model_fields)
    filters: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or key not in allowed:
            raise RagkitError(
                f"bad filter {pair!r}: use key=value with key in {', '.join(allowed)}"
            )
        if key == "page":
            if not value.isdigit():
                raise RagkitError(f"bad filter {pair!r}: page is a number")
            filters[key] = int(value)
        else:
            filters[key] = value
    try:
        return Filters.model_validate(filters).as_dict()
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise RagkitError(f"bad filter: {problems}") from None


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
    rag = open_rag(rag_settings(data_dir=data_dir))
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

    index = Index(rag_settings(data_dir=data_dir), NoEmbeddings())
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

    index = Index(rag_settings(data_dir=data_dir), NoEmbeddings())
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
    rag = open_rag(rag_settings(data_dir=data_dir, llm_url=llm_url, generator=generator))
    if not rag.index.docs:
        raise RagkitError("the index is empty: run `ragkit ingest <path>` first")
    answer = rag.ask(question, mode=mode, k=k, filters=filters, mmr=mmr, rerank=not no_rerank)
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

    settings = rag_settings(host=host, port=port, llm_url=llm_url, data_dir=data_dir,
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
