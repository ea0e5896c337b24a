"""The LangChain chain against a real HTTP server that speaks the OpenAI chat protocol.

The server is a few lines of FastAPI: it records each request and replies with the text a
test chose. What is tested is ragkit's side: the prompt it sends, how it reads the reply,
and what happens when the endpoint fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from ragkit.api import create_app
from ragkit.errors import GeneratorError
from ragkit.generate import IDK, LLMGenerator, make_generator
from ragkit.pipeline import ask
from ragkit.rag import Rag

from aiinfra_shared.services.base import free_port
from aiinfra_shared.testing.asgi import serve_in_thread


class ChatServer:
    """``POST /v1/chat/completions`` on a loopback port, in a thread."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply = "ok [1]"
        self.fail = False
        app = FastAPI()

        @app.post("/v1/chat/completions")
        def chat(body: dict[str, Any]) -> dict[str, Any]:
            self.requests.append(body)
            if self.fail:
                raise HTTPException(500, "model crashed")
            return {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": self.reply}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }  # fmt: skip

        self.app = app
        self.url = ""


@pytest.fixture(scope="module")
def chat() -> Iterator[ChatServer]:
    server = ChatServer()
    with serve_in_thread(server.app) as served:
        server.url = f"{served.url}/v1"
        yield server


@pytest.fixture
def llm(chat: ChatServer) -> LLMGenerator:
    chat.requests.clear()
    chat.fail = False
    return LLMGenerator(chat.url, "tiny-chat", timeout=10)


def test_the_prompt_numbers_the_context_and_asks_for_citations(
    corpus_rag: Rag, chat: ChatServer, llm: LLMGenerator
) -> None:
    chat.reply = "Heron is owned by the Model Registry team [1]."
    answer = ask(corpus_rag.retriever, llm, "Which team owns heron?", k=3)
    (request,) = chat.requests
    assert request["model"] == "tiny-chat"
    assert request["temperature"] == 0
    system, human = request["messages"]
    assert system["role"] == "system"
    assert IDK in system["content"]
    assert "[2]" in system["content"]  # the citation format is spelled out
    assert human["content"].endswith("Question: Which team owns heron?")
    for n, hit in enumerate(answer.hits, start=1):
        assert f"[{n}] ({hit.doc.metadata['source']}" in human["content"]
    assert answer.mode == "llm"
    assert answer.answered
    assert answer.answer == chat.reply
    assert answer.citations[0]["chunk_id"] == answer.hits[0].chunk_id


def test_a_reply_citing_unknown_context_keeps_only_valid_citations(
    corpus_rag: Rag, chat: ChatServer, llm: LLMGenerator
) -> None:
    chat.reply = "Model Registry [2], and also [7]."
    answer = ask(corpus_rag.retriever, llm, "Which team owns heron?", k=3)
    assert [c["n"] for c in answer.citations] == [2]
    assert answer.dropped_citations == [7]


def test_the_model_saying_it_does_not_know_is_not_an_answer(
    corpus_rag: Rag, chat: ChatServer, llm: LLMGenerator
) -> None:
    chat.reply = IDK
    answer = ask(corpus_rag.retriever, llm, "Which team owns heron?")
    assert not answer.answered
    assert answer.citations == []


def test_low_confidence_never_calls_the_model(
    corpus_rag: Rag, chat: ChatServer, llm: LLMGenerator
) -> None:
    ask(corpus_rag.retriever, llm, "What is the boiling point of tungsten?")
    assert chat.requests == []


def test_endpoint_errors_become_generator_errors_and_502(
    corpus_rag: Rag, chat: ChatServer, llm: LLMGenerator
) -> None:
    chat.fail = True
    with pytest.raises(GeneratorError, match=f"language model at {chat.url} failed"):
        ask(corpus_rag.retriever, llm, "Which team owns heron?")
    unreachable = LLMGenerator(f"http://127.0.0.1:{free_port()}/v1", "x", timeout=5)
    with pytest.raises(GeneratorError, match="Connection"):
        ask(corpus_rag.retriever, unreachable, "Which team owns heron?")

    api = Rag(corpus_rag.settings, embeddings=corpus_rag.index.embeddings, generator=llm)
    response = TestClient(create_app(api)).post(
        "/v1/query", json={"question": "Which team owns heron?"}
    )
    assert response.status_code == 502
    assert "model crashed" in response.json()["detail"] or "500" in response.json()["detail"]


def test_make_generator_picks_the_llm_only_with_a_url() -> None:
    assert make_generator(None).mode == "extractive"
    assert make_generator("http://127.0.0.1:1/v1").mode == "llm"
