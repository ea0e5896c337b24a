"""The whole system behind one object: index, retrievers and generator, safe to share.

The CLI, the API and the demo all go through :class:`Rag`. One lock serialises writes and
reads, because neither Chroma's local client nor the BM25 index may be read while a document is
being replaced: a query sees the index before or after an ingestion, never half of it. The
generator (possibly a slow LLM call) runs outside the lock.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.config import RagSettings
from ragkit.errors import RagkitError
from ragkit.generate import Generator, make_generator
from ragkit.index import DocRecord, Index, IngestReport, Progress, doc_id_for
from ragkit.loaders import kind_of
from ragkit.pipeline import Answer, ask
from ragkit.retrieval import Mode, Retriever

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


def upload_name(name: str | None) -> str:
    """The file name of an upload without any folder part.

    Raises:
        RagkitError: No usable name (the suffix picks the loader, so one is needed).
    """
    cleaned = Path((name or "").replace("\\", "/")).name.strip()
    if not cleaned or cleaned in {".", ".."}:
        raise RagkitError("an uploaded file needs a name with a suffix such as .pdf or .md")
    return cleaned


class Rag:
    """Ingest, delete, list and ask, over one persistent index."""

    def __init__(self, settings: RagSettings, *, embeddings: Embeddings | None = None,
                 generator: Generator | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.index = Index(settings, embeddings)
        self.retriever = Retriever(self.index)
        self.generator = generator or make_generator(
            settings.llm_url, settings.llm_model, settings.llm_api_key, settings.generator
        )
        self.lock = threading.RLock()

    def ingest(self, paths: Iterable[Path], progress: Progress | None = None) -> IngestReport:
        """Files and folders; see :meth:`Index.ingest`."""
        with self.lock:
            return self.index.ingest(list(paths), progress)

    def ingest_upload(self, name: str | None, data: bytes) -> tuple[IngestReport, str]:
        """One uploaded file, keyed by its name: uploading ``a.md`` again replaces ``a.md``.

        Returns:
            What happened, and the document's id.

        Raises:
            RagkitError: No usable name.
            UnsupportedFileError: A suffix no loader reads (checked before anything is written).
        """
        filename = upload_name(name)
        kind_of(Path(filename))
        with tempfile.TemporaryDirectory(prefix="ragkit-upload-") as tmp:
            path = Path(tmp) / filename
            path.write_bytes(data)
            key = f"upload:{filename}"
            with self.lock:
                report = self.index.ingest_file(path, source=filename, key=key)
        return report, doc_id_for(key)

    def delete(self, doc_id: str) -> DocRecord:
        """Remove a document; see :meth:`Index.delete`."""
        with self.lock:
            return self.index.delete(doc_id)

    def documents(self) -> list[dict[str, Any]]:
        """Every document, by source."""
        with self.lock:
            records = sorted(self.index.docs.values(), key=lambda d: d.source)
        return [
            {
                "doc_id": d.doc_id,
                "source": d.source,
                "kind": d.kind,
                "chunks": len(d.chunk_ids),
                "sha256": d.sha256,
                "ingested_at": d.ingested_at,
            }
            for d in records
        ]

    def ask(self, question: str, *, mode: Mode = "hybrid", k: int | None = None,
            filters: dict[str, Any] | None = None, mmr: bool = False,
            rerank: bool = True) -> Answer:  # fmt: skip
        """Answer one question; see :func:`ragkit.pipeline.ask`.

        Raises:
            RagkitError: An empty question.
        """
        if not question.strip():
            raise RagkitError("the question is empty")
        return ask(self.retriever, self.generator, question, mode=mode, k=k, filters=filters,
                   mmr=mmr, use_rerank=rerank, guard=self.lock)  # fmt: skip
