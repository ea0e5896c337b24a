"""The whole system behind one object: index, retrievers and generator, safe to share.

The CLI, the API and the demo all go through :class:`Rag`. One lock serialises writes and
reads, because neither Chroma's local client nor the BM25 index may be read while a document is
being replaced: a query sees the index before or after an ingestion, never half of it. The
generator (possibly a slow LLM call) runs outside the lock.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.config import RagSettings
from ragkit.errors import DocumentConflictError, RagkitError
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


def upload_path(path: str, filename: str) -> str:
    """A document path from a client: relative, POSIX, no ``..``, ending like the file.

    Raises:
        RagkitError: Anything else.
    """
    cleaned = path.replace("\\", "/").strip()
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if not parts or cleaned.startswith("/") or ".." in parts or any(":" in p for p in parts):
        raise RagkitError(f"path {path!r} must be a relative path such as guides/{filename}")
    if Path(parts[-1]).suffix.lower() != Path(filename).suffix.lower():
        raise RagkitError(f"path {path!r} must end with the file's suffix ({filename})")
    return "/".join(parts)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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

    def ingest_upload(
        self, name: str | None, data: bytes, *, path: str | None = None, replace: bool = True
    ) -> tuple[IngestReport, str]:
        """One uploaded file, keyed by ``path`` (a relative path in the sender's tree) or,
        without one, by its file name.

        Args:
            name: The upload's file name (its suffix picks the loader).
            data: The bytes.
            path: The document's path, e.g. ``guides/README.md``; two files named alike stay
                two documents when their paths differ.
            replace: Replace a stored document with the same key and other content; when
                false that is a :class:`DocumentConflictError`. The same content is always
                "unchanged".

        Returns:
            What happened, and the document's id.

        Raises:
            RagkitError: No usable name, or a path that is absolute, climbs out with ``..`` or
                has another suffix than the file.
            UnsupportedFileError: A suffix no loader reads (checked before anything is written).
            DocumentConflictError: See ``replace``.
        """
        filename = upload_name(name)
        source = upload_path(path, filename) if path is not None else filename
        kind_of(Path(filename))
        key = f"upload:{source}"
        doc_id = doc_id_for(key)
        with self.lock:
            stored = self.index.docs.get(doc_id)
            if stored is not None and not replace and stored.sha256 != sha256_hex(data):
                raise DocumentConflictError(
                    f"a different document {source!r} is stored (doc_id {doc_id}); send a "
                    "path to keep both, or replace=true to replace it"
                )
            with tempfile.TemporaryDirectory(prefix="ragkit-upload-") as tmp:
                file = Path(tmp) / filename
                file.write_bytes(data)
                report = self.index.ingest_file(file, source=source, key=key)
        return report, doc_id

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
