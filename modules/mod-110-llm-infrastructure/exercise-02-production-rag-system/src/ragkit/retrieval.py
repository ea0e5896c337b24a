"""Retrieval: dense (Chroma), sparse (BM25), hybrid by reciprocal rank fusion, MMR, re-ranking.

Where the time goes, and what is done about it (``benchmarks/bench_rag.py`` measures it):

- the query embedding (MiniLM on the CPU) is the largest cost of a dense search: it is
  computed once per question and cached (the re-ranker needs it again);
- BM25 is an inverted index (``bm25s``: a sparse term x chunk matrix of precomputed scores),
  so a query touches only the chunks that contain its terms instead of scoring every chunk
  in Python; metadata filters are a weight mask over the same scores;
- hybrid runs the dense and the sparse search at once (torch and numpy release the GIL);
- the re-ranker reads the stored vectors of sparse-only hits from Chroma instead of
  embedding their text again.

Re-ranking is a heuristic, and says so: no cross-encoder model can be had offline here (none is
shipped in a PyPI wheel the way all-MiniLM-L6-v2 is). It scores each candidate by how many of
the question's content words it contains, plus its cosine similarity to the question.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import bm25s
import numpy as np
from langchain_core.documents import Document

from ragkit.errors import RagkitError
from ragkit.index import Index

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index build at DEBUG

Mode = Literal["dense", "sparse", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "sparse", "hybrid")

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "should",
        "that",
        "the",
        "their",
        "this",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "after",
        "before",
        "my",
    ]
)


class SparseIndex:
    """BM25 with Lucene's IDF, ``ln(1 + (N - n + 0.5) / (n + 0.5))`` (never negative, so a
    term found in most chunks of a small index still counts), as an inverted index.

    Built once per index version from every chunk's tokens; a query scores only the chunks
    that contain one of its terms (``bm25s`` keeps a sparse matrix of per-term scores).
    """

    def __init__(self, chunks: list[Document]) -> None:
        self.chunks = chunks
        corpus = [tokens(c.page_content) or [""] for c in chunks]
        self.bm25 = bm25s.BM25(method="lucene", idf_method="lucene")
        self.bm25.index(corpus, show_progress=False)
        vocab: dict[str, int] = self.bm25.vocab_dict
        counts = np.diff(np.asarray(self.bm25.scores["indptr"]))
        self.df = {term: int(counts[i]) for term, i in vocab.items() if term}
        self._masks: dict[tuple[tuple[str, Any], ...], np.ndarray] = {}

    def mask(self, filters: dict[str, Any] | None) -> np.ndarray | None:
        """1.0 for chunks whose metadata match every filter, else 0.0 (cached per filter)."""
        if not filters:
            return None
        key = tuple(sorted(filters.items()))
        found = self._masks.get(key)
        if found is None:
            found = np.fromiter((_matches(c, filters) for c in self.chunks), dtype=np.float32,
                                count=len(self.chunks))  # fmt: skip
            if len(self._masks) < 256:
                self._masks[key] = found
        return found

    def scores(self, terms: list[str], filters: dict[str, Any] | None = None) -> np.ndarray:
        """BM25 score of every chunk (0 where no term occurs or a filter fails)."""
        known = [t for t in terms if t in self.df]
        if not known:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known, weight_mask=self.mask(filters)))


def tokens(text: str) -> list[str]:
    """Lower-case word tokens without stop words, plural ``s`` stripped (for BM25 and overlap)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOP]


@dataclass
class Hit:
    """One retrieved chunk and how each stage scored it."""

    doc: Document
    score: float
    similarity: float | None = None
    ranks: dict[str, int] = field(default_factory=dict)

    @property
    def chunk_id(self) -> str:
        """Chroma id of the chunk."""
        return str(self.doc.id)

    def citation(self, n: int) -> dict[str, Any]:
        """JSON-ready citation ``[n]``."""
        meta = self.doc.metadata
        return {
            "n": n,
            "chunk_id": self.chunk_id,
            "doc_id": meta.get("doc_id"),
            "source": meta.get("source"),
            "section": meta.get("section") or None,
            "page": meta.get("page"),
            "score": round(self.score, 4),
            "similarity": None if self.similarity is None else round(self.similarity, 4),
        }


def _where(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    if not filters:
        return None
    clauses = [{key: value} for key, value in sorted(filters.items())]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _matches(doc: Document, filters: dict[str, Any] | None) -> bool:
    return all(doc.metadata.get(k) == v for k, v in (filters or {}).items())


def fusion_order(hit: Hit) -> tuple[float, int, int, str]:
    """Sort key of fused hits: RRF score, then the best single rank, then the dense rank.

    Fused scores tie exactly whenever two chunks hold mirrored ranks (dense 1 + sparse 3 and
    dense 3 + sparse 1), which is common. Chunk ids hash the file's path, so breaking ties by
    id alone would reorder results between two indexes of the same files.
    """
    best = min(hit.ranks.values(), default=1 << 30)
    return (-hit.score, best, hit.ranks.get("dense", 1 << 30), hit.chunk_id)


class Retriever:
    """Every retrieval mode over one :class:`Index`."""

    #: Query embeddings kept (a question asked again, and the re-ranker's second look).
    CACHE_SIZE = 1024

    def __init__(self, index: Index) -> None:
        self.index = index
        self._sparse: tuple[str, SparseIndex] | None = None
        self._sparse_lock = threading.Lock()
        self._specific: tuple[int, float, frozenset[str]] | None = None
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._vectors_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ragkit-retrieve")

    def _sparse_index(self) -> SparseIndex | None:
        version = self.index.version
        with self._sparse_lock:  # one rebuild at a time, and no query sees half of one
            if self._sparse is None or self._sparse[0] != version:
                chunks = self.index.all_chunks()
                if not chunks:
                    return None
                self._sparse = (version, SparseIndex(chunks))
            return self._sparse[1]

    def query_vector(self, query: str) -> list[float]:
        """The query's embedding, computed once per question (LRU cache)."""
        with self._vectors_lock:
            found = self._vectors.get(query)
            if found is not None:
                self._vectors.move_to_end(query)
                return found
        vector = self.index.embeddings.embed_query(query)
        with self._vectors_lock:
            self._vectors[query] = vector
            while len(self._vectors) > self.CACHE_SIZE:
                self._vectors.popitem(last=False)
        return vector

    def specific_terms(self, share: float = 0.1) -> frozenset[str]:
        """Terms of the index found in fewer than ``share`` of its chunks: names of specific
        things (a service, a tool, a channel), which the grounding check binds to the chunk
        that supports a sentence."""
        sparse = self._sparse_index()
        if sparse is None:
            return frozenset()
        if self._specific is None or self._specific[:2] != (id(sparse), share):
            limit = share * len(sparse.chunks)
            terms = frozenset(w for w, n in sparse.df.items() if n < limit)
            self._specific = (id(sparse), share, terms)
        return self._specific[2]

    def dense(self, query: str, k: int, filters: dict[str, Any] | None = None) -> list[Hit]:
        """Nearest chunks by cosine similarity of MiniLM embeddings."""
        if not self.index.docs:
            return []
        found = self.index.vectors.similarity_search_by_vector_with_relevance_scores(
            self.query_vector(query), k=k, filter=_where(filters)
        )
        hits = []
        for rank, (doc, distance) in enumerate(found, start=1):
            similarity = 1.0 - float(distance)  # the collection uses cosine distance
            hits.append(Hit(doc, similarity, similarity, {"dense": rank}))
        return hits

    def sparse(self, query: str, k: int, filters: dict[str, Any] | None = None) -> list[Hit]:
        """Best BM25 matches (Lucene IDF) with a positive score."""
        terms = tokens(query)
        sparse = self._sparse_index() if terms else None
        if sparse is None:
            return []
        scores = sparse.scores(terms, filters)
        top = min(k, len(scores))
        best = np.argpartition(-scores, top - 1)[:top] if top < len(scores) else np.arange(top)
        order = best[np.lexsort((best, -scores[best]))]  # by score, ties by position (stable)
        return [
            Hit(sparse.chunks[i], float(scores[i]), None, {"sparse": rank})
            for rank, i in enumerate((i for i in order if scores[i] > 0), start=1)
        ]

    def hybrid(self, query: str, k: int, filters: dict[str, Any] | None = None,
               fetch_k: int | None = None) -> list[Hit]:  # fmt: skip
        """Reciprocal rank fusion of dense and sparse: ``sum 1 / (rrf_k + rank)``; the two
        searches run at once."""
        fetch = fetch_k or self.index.settings.fetch_k
        rrf_k = self.index.settings.rrf_k
        sparse_future = self._pool.submit(self.sparse, query, fetch, filters)
        dense_hits = self.dense(query, fetch, filters)
        fused: dict[str, Hit] = {}
        for hits in (dense_hits, sparse_future.result()):
            for hit in hits:
                ((name, rank),) = hit.ranks.items()
                merged = fused.setdefault(hit.chunk_id, Hit(hit.doc, 0.0))
                merged.score += 1.0 / (rrf_k + rank)
                merged.ranks[name] = rank
                if hit.similarity is not None:
                    merged.similarity = hit.similarity
        return sorted(fused.values(), key=fusion_order)[:k]

    def mmr(self, query: str, k: int, filters: dict[str, Any] | None = None,
            lambda_mult: float = 0.5) -> list[Hit]:  # fmt: skip
        """Maximal marginal relevance: relevant but not redundant (Carbonell & Goldstein, 1998)."""
        if not self.index.docs:
            return []
        docs = self.index.vectors.max_marginal_relevance_search_by_vector(
            self.query_vector(query), k=k, fetch_k=self.index.settings.fetch_k,
            lambda_mult=lambda_mult, filter=_where(filters),
        )  # fmt: skip
        return [Hit(d, 1.0 / rank, None, {"mmr": rank}) for rank, d in enumerate(docs, 1)]

    def search(self, query: str, *, mode: Mode = "hybrid", k: int | None = None,
               filters: dict[str, Any] | None = None) -> list[Hit]:  # fmt: skip
        """One mode by name.

        Raises:
            RagkitError: Unknown mode.
        """
        k = k or self.index.settings.k
        if mode == "dense":
            return self.dense(query, k, filters)
        if mode == "sparse":
            return self.sparse(query, k, filters)
        if mode == "hybrid":
            return self.hybrid(query, k, filters)
        raise RagkitError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")

    def similarity(self, query: str, hits: list[Hit]) -> None:
        """Fill in the cosine similarity of hits that only the sparse side found, from their
        stored vectors (embedding their text again would cost a model call per chunk)."""
        missing = [h for h in hits if h.similarity is None]
        if not missing:
            return
        q = np.asarray(self.query_vector(query))
        stored = self.index.stored_vectors([h.chunk_id for h in missing])
        for hit in missing:
            vector = stored.get(hit.chunk_id)
            if vector is None:  # deleted meanwhile: embed it after all
                text = hit.doc.page_content
                vector = np.asarray(self.index.embeddings.embed_documents([text])[0])
            hit.similarity = float(np.dot(vector, q))


def rerank(query: str, hits: list[Hit], k: int) -> list[Hit]:
    """Heuristic re-ranker: share of the question's content words found in the chunk, plus
    cosine similarity. Needs ``similarity`` filled (see :meth:`Retriever.similarity`)."""
    terms = set(tokens(query))
    for hit in hits:
        words = set(tokens(hit.doc.page_content))
        coverage = len(terms & words) / len(terms) if terms else 0.0
        hit.score = 0.5 * coverage + 0.5 * (hit.similarity or 0.0)
    return sorted(hits, key=lambda h: (-h.score, h.chunk_id))[:k]
