"""An OpenAI-compatible LLM server behind the gateway (``/v1/chat/completions``,
``/v1/completions``, ``/v1/models``), streaming with server-sent events.

It runs ``model.generate`` with a ``TextIteratorStreamer``, **one request at a time**: the
point of this project is the gateway in front of it. (110-01 builds the server with continuous
batching; any OpenAI-compatible server, vLLM included, can stand here instead: give its
``url`` in the platform config.) The model is the tiny one from ``aiinfra_shared.tinylm``,
SmolLM2 (``smollm2``, with the ``smollm2`` extra) or a local folder.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.metrics import metrics_app, new_registry
from servplat.backends import flushing, instrument
from servplat.telemetry import tracer_provider


def model_folder(model: str, cache_dir: Path) -> tuple[Path, str]:
    """The folder and served name for ``tiny``, ``smollm2`` or a path."""
    if model == "tiny":
        from aiinfra_shared.tinylm import ensure_tiny

        return ensure_tiny(cache_dir), "tiny"
    if model == "smollm2":
        from aiinfra_shared.smollm2 import model_dir

        return model_dir(), "smollm2"
    return Path(model), Path(model).name


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant"]
    content: str


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    max_tokens: int = Field(default=64, ge=1, le=512)
    temperature: float = Field(default=0.0, ge=0, le=2)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


class ChatIn(_Request):
    messages: list[_Message] = Field(min_length=1)


class CompletionIn(_Request):
    prompt: str = Field(min_length=1)


class Generator:
    """``model.generate`` behind a lock, streamed through a ``TextIteratorStreamer``."""

    def __init__(self, folder: Path, cancelled: Counter | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder).eval()
        self.lock = threading.Lock()
        self.cancelled = cancelled

    def stream(self, ids: list[int], max_tokens: int, temperature: float) -> Iterator[str]:
        """Text pieces as they are generated (blocking; run it in a thread). Closing the
        iterator early (a client that went away) stops generation at the next token."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancel = threading.Event()

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        inputs = torch.tensor([ids])
        kwargs = {
            "input_ids": inputs,
            "attention_mask": torch.ones_like(inputs),
            "max_new_tokens": max_tokens,
            "streamer": streamer,
            "do_sample": temperature > 0,
            "pad_token_id": self.tokenizer.pad_token_id,
            "stopping_criteria": StoppingCriteriaList([Cancelled()]),
        }
        if temperature > 0:
            kwargs["temperature"] = temperature
        with self.lock:
            worker = threading.Thread(target=self.model.generate, kwargs=kwargs, daemon=True)
            worker.start()
            try:
                yield from streamer
            finally:
                if worker.is_alive() and self.cancelled is not None:
                    self.cancelled.inc()  # stopped before its end: the client went away
                cancel.set()
                worker.join()


def create_app(model: str, cache_dir: Path) -> FastAPI:
    """The LLM server for ``model`` (built or converted first if needed)."""
    folder, name = model_folder(model, cache_dir)
    registry = new_registry()
    cancelled = Counter(
        "servplat_llm_cancelled_total",
        "Generations stopped early because the caller went away.",
        registry=registry,
    )
    generator = Generator(folder, cancelled)
    provider = tracer_provider(f"servplat-llm-{name}")
    app = FastAPI(title=f"llm {name}", lifespan=flushing(provider))
    instrument(app, provider)
    app.add_route("/metrics", metrics_app(registry))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Any, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(
            {
                "error": {
                    "message": f"{param}: {first.get('msg')}",
                    "type": "invalid_request_error",
                    "param": param,
                    "code": None,
                }
            },
            400,
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        """The served model."""
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "servplat"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatIn) -> Any:
        """Answer a conversation."""
        ids = generator.tokenizer.apply_chat_template(
            [m.model_dump() for m in body.messages],
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
        )["input_ids"]
        return await answer(body, list(ids), "chat.completion")

    @app.post("/v1/completions", response_model=None)
    async def completions(body: CompletionIn) -> Any:
        """Continue a prompt."""
        ids = generator.tokenizer(body.prompt, add_special_tokens=False)["input_ids"]
        return await answer(body, list(ids), "text_completion")

    async def answer(body: _Request, ids: list[int], kind: str) -> Any:
        if body.model != name:
            return JSONResponse(
                {
                    "error": {
                        "message": f"model {body.model!r} not served here",
                        "type": "invalid_request_error",
                        "param": "model",
                        "code": "model_not_found",
                    }
                },
                404,
            )
        prefix = "chatcmpl" if kind == "chat.completion" else "cmpl"
        rid, created = f"{prefix}-{uuid.uuid4().hex[:20]}", int(time.time())
        pieces = _pieces(generator, ids, body)

        def choice(text: str, finish: str | None, *, chunk: bool) -> dict[str, Any]:
            if kind == "chat.completion":
                key, value = (
                    ("delta", {"content": text})
                    if chunk
                    else ("message", {"role": "assistant", "content": text})
                )
                return {"index": 0, key: value, "finish_reason": finish}
            return {"index": 0, "text": text, "finish_reason": finish}

        def usage(completion: int) -> dict[str, int]:
            return {
                "prompt_tokens": len(ids),
                "completion_tokens": completion,
                "total_tokens": len(ids) + completion,
            }

        if not body.stream:
            text = "".join([p async for p in pieces])
            tokens = len(generator.tokenizer(text, add_special_tokens=False)["input_ids"])
            finish = "length" if tokens >= body.max_tokens else "stop"
            return {
                "id": rid,
                "object": kind,
                "created": created,
                "model": name,
                "choices": [choice(text, finish, chunk=False)],
                "usage": usage(tokens),
            }

        chunk_kind = f"{kind}.chunk" if kind == "chat.completion" else kind

        async def events() -> AsyncIterator[str]:
            text = ""
            async for piece in pieces:
                text += piece
                yield _sse(
                    {
                        "id": rid,
                        "object": chunk_kind,
                        "created": created,
                        "model": name,
                        "choices": [choice(piece, None, chunk=True)],
                    }
                )
            tokens = len(generator.tokenizer(text, add_special_tokens=False)["input_ids"])
            finish = "length" if tokens >= body.max_tokens else "stop"
            yield _sse(
                {
                    "id": rid,
                    "object": chunk_kind,
                    "created": created,
                    "model": name,
                    "choices": [choice("", finish, chunk=True)],
                }
            )
            if (body.stream_options or {}).get("include_usage"):
                yield _sse(
                    {
                        "id": rid,
                        "object": chunk_kind,
                        "created": created,
                        "model": name,
                        "choices": [],
                        "usage": usage(tokens),
                    }
                )
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


async def _pieces(generator: Generator, ids: list[int], body: _Request) -> AsyncIterator[str]:
    """The generator's pieces, pulled from its blocking iterator in a worker thread."""
    iterator = generator.stream(ids, body.max_tokens, body.temperature)
    done = object()
    try:
        while True:
            piece = await asyncio.to_thread(next, iterator, done)
            if piece is done:
                return
            if piece:
                yield str(piece)
    finally:
        await asyncio.to_thread(iterator.close)  # stops generation, releases the lock


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"
