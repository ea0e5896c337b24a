"""Retrieval quality on the shipped question set: hit@k, MRR and nDCG@k per mode; a
faithfulness check of the answers (every citation points at a retrieved chunk); and answer
correctness against reference answers (token F1, and whether every key fact is stated).

Grounding alone cannot fail an extractive answer (its sentences are copied from the chunks),
and a copied sentence from the wrong runbook is grounded and wrong. Correctness is what says
so: the answer is compared with the question's reference answer and key facts.

A hit is relevant when it comes from the gold source and, where the question names one, the
gold section (case-insensitive) or PDF page. Each question has one gold passage, so gains are
binary and only the first relevant hit counts: nDCG@k = 1 / log2(rank + 1).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ragkit.generate import Generator
from ragkit.pipeline import ask
from ragkit.retrieval import MODES, Hit, Mode, Retriever


@dataclass(frozen=True)
class Question:
    """One evaluation question and where its answer is."""

    question: str
    source: str
    section: str | None = None
    page: int | None = None
    answer: str | None = None
    facts: tuple[str, ...] = ()

    def relevant(self, hit: Hit) -> bool:
        """Whether ``hit`` is (part of) the gold passage."""
        meta = hit.doc.metadata
        if meta.get("source") != self.source:
            return False
        if self.page is not None:
            return bool(meta.get("page") == self.page)
        if self.section is not None:
            return str(meta.get("section", "")).lower() == self.section.lower()
        return True


def load_questions(path: Path) -> list[Question]:
    """``questions.yaml``: a list of {question, source, section?, page?}."""
    rows = yaml.safe_load(path.read_text())
    return [Question(**{**row, "facts": tuple(row.get("facts") or ())}) for row in rows]


_ARTICLES = {"a", "an", "the"}


def normalize(text: str) -> list[str]:
    """Tokens for comparing answers: lowercase, citation markers, punctuation and articles
    dropped (as SQuAD's evaluation does)."""
    text = re.sub(r"\[\d+\]", " ", text.lower())
    text = re.sub(r"[^\w\s:.-]|(?<!\d)[.:-]|[.:-](?!\d)", " ", text)
    return [t for t in text.split() if t not in _ARTICLES]


def token_f1(answer: str, reference: str) -> float:
    """Token-overlap F1 of an answer and a reference answer."""
    got, want = normalize(answer), normalize(reference)
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def facts_stated(answer: str, facts: tuple[str, ...]) -> float:
    """Share of the key facts the answer states (each as a phrase, after normalising)."""
    if not facts:
        return 1.0
    said = " ".join(normalize(answer))
    return sum(" ".join(normalize(f)) in said for f in facts) / len(facts)


@dataclass
class Correctness:
    """How right the answers are, against reference answers.

    Attributes:
        f1: Mean token F1 against the reference answers (answers of "I don't know" count 0).
        fact_recall: Mean share of key facts stated.
        exact: Share of answers that state every key fact.
        answered: Questions answered at all.
        total: Questions with a reference.
        wrong: The questions whose answer missed a key fact.
    """

    f1: float
    fact_recall: float
    exact: float
    answered: int
    total: int
    wrong: list[str] = field(default_factory=list)


def correctness(
    retriever: Retriever, generator: Generator, questions: list[Question], *, mode: Mode = "hybrid"
) -> Correctness:
    """Answer every question that has a reference and score the answers."""
    scored = [q for q in questions if q.answer or q.facts]
    f1 = recall = exact = 0.0
    answered = 0
    wrong = []
    for q in scored:
        answer = ask(retriever, generator, q.question, mode=mode)
        text = answer.answer if answer.answered else ""
        answered += answer.answered
        f1 += token_f1(text, q.answer or " ".join(q.facts))
        stated = facts_stated(text, q.facts)
        recall += stated
        exact += stated == 1.0
        if stated < 1.0:
            wrong.append(q.question)
    n = len(scored) or 1
    return Correctness(f1 / n, recall / n, exact / n, answered, len(scored), wrong)


def first_relevant(question: Question, hits: list[Hit]) -> int | None:
    """1-based rank of the first relevant hit, or None."""
    return next((i for i, h in enumerate(hits, start=1) if question.relevant(h)), None)


@dataclass
class ModeScores:
    """Averages over the question set for one retrieval mode."""

    mode: str
    k: int
    hit_at_k: float
    mrr: float
    ndcg_at_k: float
    misses: list[str] = field(default_factory=list)


def score_mode(retriever: Retriever, questions: list[Question], mode: Mode, k: int) -> ModeScores:
    """hit@k, MRR (within the top k) and nDCG@k of one mode."""
    hits_total = rr_total = ndcg_total = 0.0
    misses = []
    for q in questions:
        rank = first_relevant(q, retriever.search(q.question, mode=mode, k=k))
        if rank is None:
            misses.append(q.question)
            continue
        hits_total += 1
        rr_total += 1 / rank
        ndcg_total += 1 / math.log2(rank + 1)
    n = len(questions) or 1
    return ModeScores(mode, k, hits_total / n, rr_total / n, ndcg_total / n, misses)


@dataclass
class Faithfulness:
    """How the generator's answers cite."""

    answered: int
    cited_only_retrieved: int
    cited_gold: int
    grounded: int
    total: int


def faithfulness(retriever: Retriever, generator: Generator,
                 questions: list[Question]) -> Faithfulness:  # fmt: skip
    """Answer every question: do citations point at retrieved chunks, and at the gold one? Is
    every sentence supported by a retrieved chunk (grounded)?"""
    answered = only_retrieved = gold = grounded = 0
    for q in questions:
        answer = ask(retriever, generator, q.question)
        if not answer.answered:
            continue
        answered += 1
        only_retrieved += not answer.dropped_citations and bool(answer.citations)
        gold += any(q.relevant(answer.hits[c["n"] - 1]) for c in answer.citations)
        grounded += bool(answer.grounded)
    return Faithfulness(answered, only_retrieved, gold, grounded, len(questions))


def evaluate(retriever: Retriever, questions: list[Question], k: int = 5) -> list[ModeScores]:
    """Every mode."""
    return [score_mode(retriever, questions, mode, k) for mode in MODES]


def plot(scores: list[ModeScores], path: Path) -> Path:
    """A grouped bar chart of the three metrics per mode (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [("hit@k", "hit_at_k"), ("MRR", "mrr"), ("nDCG@k", "ndcg_at_k")]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(scores)
    for i, s in enumerate(scores):
        xs = [j + i * width for j in range(len(metrics))]
        bars = ax.bar(xs, [getattr(s, attr) for _, attr in metrics], width, label=s.mode)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks([j + width * (len(scores) - 1) / 2 for j in range(len(metrics))],
                  [name for name, _ in metrics])  # fmt: skip
    ax.set_ylim(0, 1.25)
    ax.set_title(f"retrieval quality (k={scores[0].k})" if scores else "retrieval quality")
    ax.legend(ncol=len(scores), loc="upper center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def as_rows(scores: list[ModeScores]) -> list[dict[str, Any]]:
    """JSON-ready rows."""
    return [
        {
            "mode": s.mode,
            "k": s.k,
            "hit@k": round(s.hit_at_k, 3),
            "mrr": round(s.mrr, 3),
            "ndcg@k": round(s.ndcg_at_k, 3),
            "misses": len(s.misses),
        }
        for s in scores
    ]
