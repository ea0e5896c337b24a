"""HTTP API: ask, upload, list and delete documents, metrics.

``POST /v1/query`` answers with citations, the scores of every retrieved chunk and a latency
breakdown (retrieve, rerank, generate, total). ``POST /v1/documents`` takes a multipart upload
and ingests it at once; ``DELETE /v1/documents/{doc_id}`` removes a document and its chunks.
``/metrics`` has the HTTP metrics, per-stage latency histograms, answer and ingestion counters,
and the size of the index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, HTTPException, Query, Response, UploadFile
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.apidocs import document_framework_errors
from aiinfra_shared.jsontypes import JsonBool, NumberOnly
from aiinfra_shared.metrics import instrument_app, latency_histogram, new_registry
from ragkit.errors import (
    DocumentConflictError,
    GeneratorError,
    RagkitError,
    UnknownDocumentError,
    UnsupportedFileError,
)
from ragkit.filters import Filters
from ragkit.rag import Rag

#: The largest upload accepted (bytes); bigger ones get 413 before anything is parsed.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class QueryIn(BaseModel):
    """A question and how to retrieve for it."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    mode: Literal["dense", "sparse", "hybrid"] = "hybrid"
    k: Annotated[int, Field(ge=1, le=20), NumberOnly] | None = None
    filters: Filters = Field(
        default_factory=Filters,
        description="Exact metadata matches, e.g. {'kind': 'pdf'} or {'page': 2}.",
    )
    mmr: JsonBool = False
    rerank: JsonBool = True


class IndexCollector(Collector):
    """Documents and chunks in the index, read at scrape time."""

    def __init__(self, rag: Rag) -> None:
        self.rag = rag

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """One scrape."""
        docs = self.rag.index.docs
        yield GaugeMetricFamily("ragkit_index_documents", "Documents in the index.", len(docs))
        yield GaugeMetricFamily(
            "ragkit_index_chunks",
            "Chunks in the index.",
            sum(len(d.chunk_ids) for d in docs.values()),
        )


def create_app(rag: Rag) -> FastAPI:
    """The API over one :class:`Rag` (built by the caller, so tests can share a model)."""
    registry = new_registry()
    stages = latency_histogram(
        "ragkit_query_stage_seconds", "Query latency by stage.", registry, ("stage",)
    )
    answers = Counter(
        "ragkit_answers_total", "Answers, by whether the index answered the question.",
        ("answered",), registry=registry,
    )  # fmt: skip
    ingested = Counter(
        "ragkit_ingested_files_total", "Uploaded files, by outcome.", ("outcome",),
        registry=registry,
    )  # fmt: skip
    registry.register(IndexCollector(rag))

    app = FastAPI(
        title="ragkit",
        version="1",
        description="Retrieval-augmented answers with citations over your documents.",
    )
    instrument_app(app, prefix="ragkit", registry=registry)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict[str, Any]:
        """Readiness: the model is loaded and the index opened (both happen before startup)."""
        return {
            "status": "ready",
            "documents": len(rag.index.docs),
            "generator": rag.generator.mode,
        }

    @app.post("/v1/query")
    def query(body: QueryIn) -> dict[str, Any]:
        """Answer a question with citations, or say "I don't know"."""
        try:
            answer = rag.ask(
                body.question,
                mode=body.mode,
                k=body.k,
                filters=body.filters.as_dict(),
                mmr=body.mmr,
                rerank=body.rerank,
            )
        except GeneratorError as exc:
            raise HTTPException(502, str(exc)) from None
        except RagkitError as exc:
            raise HTTPException(422, str(exc)) from None
        for stage, ms in answer.latency_ms.items():
            stages.labels(stage).observe(ms / 1000)
        answers.labels(str(answer.answered).lower()).inc()
        return answer.as_dict()

    @app.get("/v1/documents")
    def documents() -> dict[str, Any]:
        """Every ingested document."""
        docs = rag.documents()
        return {"documents": docs, "count": len(docs)}

    @app.post(
        "/v1/documents",
        status_code=201,
        responses={
            200: {"description": "Same content as the stored document: nothing changed."},
            409: {"description": "A different document has this name or path (see `replace`)."},
            413: {"description": f"Larger than {MAX_UPLOAD_BYTES} bytes."},
            415: {"description": "A file type no loader reads."},
            422: {"description": "Unreadable or empty file, or a bad name or path."},
        },
    )
    async def upload(
        file: Annotated[UploadFile, File(description="PDF, Markdown, HTML or text")],
        response: Response,
        path: Annotated[
            str | None,
            Form(max_length=300, description="The document's path in your tree, e.g. "
                 "'guides/README.md': two files with one name stay two documents."),
        ] = None,
        replace: Annotated[
            bool, Query(description="Replace a different document with the same path.")
        ] = False,
    ) -> dict[str, Any]:  # fmt: skip
        """Upload one file and ingest it. Its key is ``path`` when given, else its file name;
        the same key with other content is refused (409) unless ``replace=true``."""
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            ingested.labels("too_large").inc()
            raise HTTPException(413, f"upload larger than {MAX_UPLOAD_BYTES} bytes")
        try:
            report, doc_id = rag.ingest_upload(file.filename, data, path=path, replace=replace)
        except UnsupportedFileError as exc:
            ingested.labels("unsupported").inc()
            raise HTTPException(415, str(exc)) from None
        except DocumentConflictError as exc:
            ingested.labels("conflict").inc()
            raise HTTPException(409, str(exc)) from None
        except RagkitError as exc:
            ingested.labels("invalid").inc()
            raise HTTPException(422, str(exc)) from None
        if report.failed:
            ingested.labels("failed").inc()
            raise HTTPException(422, report.failed[0][1])
        outcome = "added" if report.added else "replaced" if report.replaced else "unchanged"
        ingested.labels(outcome).inc()
        if outcome == "unchanged":
            response.status_code = 200
        record = next(d for d in rag.documents() if d["doc_id"] == doc_id)
        return {"outcome": outcome, "document": record, "chunks_written": report.chunks_written}

    @app.delete("/v1/documents/{doc_id}", responses={404: {"description": "No such document."}})
    def delete(doc_id: str) -> dict[str, Any]:
        """Remove a document and all of its chunks."""
        try:
            record = rag.delete(doc_id)
        except UnknownDocumentError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"deleted": record.doc_id, "source": record.source, "chunks": len(record.chunk_ids)}

    document_framework_errors(app)
    return app
