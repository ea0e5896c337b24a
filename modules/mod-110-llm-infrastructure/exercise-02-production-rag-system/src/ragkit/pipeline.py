"""One question end to end: retrieve, re-rank, decide whether to answer, generate, cite."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from ragkit.generate import IDK, Generator, attribute, check_grounding, cited
from ragkit.retrieval import Hit, Mode, Retriever, rerank


@dataclass
class Answer:
    """What ``POST /v1/query`` returns."""

    question: str
    answer: str
    mode: str
    answered: bool
    citations: list[dict[str, Any]]
    hits: list[Hit]
    confidence: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    dropped_citations: list[int] = field(default_factory=list)
    citation_method: str = "copied"
    unsupported: list[str] = field(default_factory=list)

    @property
    def grounded(self) -> bool | None:
        """Every sentence is supported by a retrieved chunk (None when nothing was answered)."""
        return not self.unsupported if self.answered else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the hits as citations of every retrieved chunk)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "generator": self.mode,
            "answered": self.answered,
            "grounded": self.grounded,
            "unsupported_sentences": self.unsupported,
            "citation_method": self.citation_method,
            "confidence": round(self.confidence, 4),
            "citations": self.citations,
            "retrieved": [h.citation(n) for n, h in enumerate(self.hits, start=1)],
            "dropped_citations": self.dropped_citations,
            "latency_ms": self.latency_ms,
        }


def ask(retriever: Retriever, generator: Generator, question: str, *, mode: Mode = "hybrid",
        k: int | None = None, filters: dict[str, Any] | None = None, mmr: bool = False,
        use_rerank: bool = True, min_similarity: float | None = None,
        guard: AbstractContextManager[Any] | None = None) -> Answer:  # fmt: skip
    """Answer ``question`` from the index, or say "I don't know".

    Confidence is the best cosine similarity between the question and a retrieved chunk; below
    ``min_similarity`` the generator is not called at all. ``guard`` (a lock) is held while the
    index is read, and released before the generator runs. Every answer is checked with
    :func:`ragkit.generate.check_grounding`: its unsupported sentences are listed.
    """
    settings = retriever.index.settings
    k = k or settings.k
    threshold = settings.min_similarity if min_similarity is None else min_similarity
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with guard or nullcontext():
        if mmr:
            hits = retriever.mmr(question, k, filters)
        else:
            hits = retriever.search(question, mode=mode, k=settings.fetch_k, filters=filters)
        timings["retrieve"] = time.perf_counter() - started

        t = time.perf_counter()
        retriever.similarity(question, hits)
        hits = rerank(question, hits, k) if use_rerank else hits[:k]
        timings["rerank"] = time.perf_counter() - t
        specific = retriever.specific_terms()  # for the grounding check, read under the lock
    confidence = max((h.similarity or 0.0 for h in hits), default=0.0)

    t = time.perf_counter()
    answered = bool(hits) and confidence >= threshold
    text = generator.answer(question, hits) if answered else IDK
    answered = answered and text != IDK
    if answered and generator.citation_method == "attributed":
        # Cite, for each sentence, the chunk that supports it among those the model saw.
        seen = hits[: getattr(generator, "context_chunks", len(hits))]
        text = attribute(text, seen, question, specific)
    timings["generate"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started

    markers = cited(text)
    valid = [n for n in markers if 1 <= n <= len(hits)]
    checks = check_grounding(text, hits, question, specific) if answered else []
    return Answer(
        question=question,
        answer=text,
        mode=generator.mode,
        answered=answered,
        citations=[hits[n - 1].citation(n) for n in valid],
        hits=hits,
        confidence=confidence,
        latency_ms={name: round(seconds * 1000, 2) for name, seconds in timings.items()},
        dropped_citations=[n for n in markers if n not in valid],
        citation_method=generator.citation_method,
        unsupported=[c.sentence for c in checks if c.supported_by is None],
    )
