"""Retrieval: dense (Chroma), sparse (BM25), hybrid by reciprocal rank fusion, MMR, re-ranking.

Re-ranking is a heuristic, and says so: no cross-encoder model can be had offline here (none is
shipped in a PyPI wheel the way all-MiniLM-L6-v2 is). It scores each candidate by how many of
the question's content words it contains, plus its cosine similarity to the question.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from langchain_core.documents import Document
from rank_bm25 import BM25Okapi

from ragkit.errors import RagkitError
from ragkit.index import Index

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


class LuceneBM25(BM25Okapi):
    """BM25 with Lucene's IDF, ``ln(1 + (N - n + 0.5) / (n + 0.5))``, which is never negative.

    ``BM25Okapi``'s classic IDF turns negative for a term in more than half of the chunks, so on
    a small index (one document, say) every score is zero or below and nothing is found.
    """

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.df = dict(nd)  # chunks that contain each term (specific_terms reads it)
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


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

    def __init__(self, index: Index) -> None:
        self.index = index
        self._bm25: tuple[str, LuceneBM25, list[Document]] | None = None
        self._specific: tuple[int, float, frozenset[str]] | None = None

    def _sparse_index(self) -> tuple[LuceneBM25 | None, list[Document]]:
        version = self.index.version
        if self._bm25 is None or self._bm25[0] != version:
            chunks = self.index.all_chunks()
            if not chunks:
                return None, []
            self._bm25 = (version, LuceneBM25([tokens(c.page_content) for c in chunks]),
                          chunks)  # fmt: skip
        return self._bm25[1], self._bm25[2]

    def specific_terms(self, share: float = 0.1) -> frozenset[str]:
        """Terms of the index found in fewer than ``share`` of its chunks: names of specific
        things (a service, a tool, a channel), which the grounding check binds to the chunk
        that supports a sentence."""
        bm25, chunks = self._sparse_index()
        if bm25 is None:
            return frozenset()
        if self._specific is None or self._specific[:2] != (id(bm25), share):
            terms = frozenset(w for w, n in bm25.df.items() if n < share * len(chunks))
            self._specific = (id(bm25), share, terms)
        return self._specific[2]

    def dense(self, query: str, k: int, filters: dict[str, Any] | None = None) -> list[Hit]:
        """Nearest chunks by cosine similarity of MiniLM embeddings."""
        if not self.index.docs:
            return []
        found = self.index.vectors.similarity_search_with_score(query, k=k, filter=_where(filters))
        hits = []
        for rank, (doc, distance) in enumerate(found, start=1):
            similarity = 1.0 - float(distance)  # the collection uses cosine distance
            hits.append(Hit(doc, similarity, similarity, {"dense": rank}))
        return hits

    def sparse(self, query: str, k: int, filters: dict[str, Any] | None = None) -> list[Hit]:
        """Best BM25 matches (Lucene IDF) with a positive score."""
        bm25, chunks = self._sparse_index()
        terms = tokens(query)
        if bm25 is None or not terms:
            return []
        scores = bm25.get_scores(terms)
        order = np.argsort(-scores, kind="stable")
        hits: list[Hit] = []
        for i in order:
            if scores[i] <= 0 or len(hits) == k:
                break
            if _matches(chunks[i], filters):
                hits.append(Hit(chunks[i], float(scores[i]), None, {"sparse": len(hits) + 1}))
        return hits

    def hybrid(self, query: str, k: int, filters: dict[str, Any] | None = None,
               fetch_k: int | None = None) -> list[Hit]:  # fmt: skip
        """Reciprocal rank fusion of dense and sparse: ``sum 1 / (rrf_k + rank)``."""
        fetch = fetch_k or self.index.settings.fetch_k
        rrf_k = self.index.settings.rrf_k
        fused: dict[str, Hit] = {}
        for hits in (self.dense(query, fetch, filters), self.sparse(query, fetch, filters)):
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
        docs = self.index.vectors.max_marginal_relevance_search(
            query, k=k, fetch_k=self.index.settings.fetch_k, lambda_mult=lambda_mult,
            filter=_where(filters),
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
        """Fill in the cosine similarity of hits that only the sparse side found."""
        missing = [h for h in hits if h.similarity is None]
        if not missing:
            return
        q = np.asarray(self.index.embeddings.embed_query(query))
        vectors = np.asarray(self.index.embeddings.embed_documents([h.doc.page_content
                                                                    for h in missing]))  # fmt: skip
        for hit, v in zip(missing, vectors @ q, strict=True):
            hit.similarity = float(v)


def rerank(query: str, hits: list[Hit], k: int) -> list[Hit]:
    """Heuristic re-ranker: share of the question's content words found in the chunk, plus
    cosine similarity. Needs ``similarity`` filled (see :meth:`Retriever.similarity`)."""
    terms = set(tokens(query))
    for hit in hits:
        words = set(tokens(hit.doc.page_content))
        coverage = len(terms & words) / len(terms) if terms else 0.0
        hit.score = 0.5 * coverage + 0.5 * (hit.similarity or 0.0)
    return sorted(hits, key=lambda h: (-h.score, h.chunk_id))[:k]
