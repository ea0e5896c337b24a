"""An OpenAI-compatible LLM server behind the gateway (``/v1/chat/completions``,
``/v1/completions``, ``/v1/models``), streaming with server-sent events.

One worker thread owns the model and answers the queued requests one after another, token by
token (110-01 builds the server with continuous batching; any OpenAI-compatible server, vLLM
included, can stand here instead: give its ``url`` in the platform config). The model is the
tiny one from ``aiinfra_shared.tinylm``, SmolLM2 (``smollm2``, with the ``smollm2`` extra) or a
local folder.

What keeps it from wedging under load:

- the worker is a thread of its own, never one of asyncio's default executor threads, and the
  request handlers never block on it: tokens come back through an ``asyncio.Queue`` filled
  with ``call_soon_threadsafe``. (The first version advanced a blocking iterator with
  ``asyncio.to_thread`` under a lock: with more waiting streams than executor threads, every
  thread waited on the lock, the holder never got one back, and every request after that got a
  timeout until a restart.)
- the queue is bounded (``SERVPLAT_LLM_MAX_QUEUE``): a full queue answers 429 with
  ``Retry-After``, in OpenAI's error shape;
- a client that goes away (or a request past its deadline) is cancelled: the worker drops it
  at the next token, or before starting it.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.apidocs import document_framework_errors
from aiinfra_shared.jsontypes import JsonBool, JsonFloat, NumberOnly
from aiinfra_shared.metrics import new_registry, serve_metrics
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
    content: str = Field(max_length=20_000)


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    max_tokens: Annotated[int, Field(ge=1, le=512), NumberOnly] = 64
    temperature: Annotated[JsonFloat, Field(ge=0, le=2)] = 0.0
    stream: JsonBool = False
    stream_options: dict[str, Any] | None = None
    #: vLLM's extension: keep generating past the end-of-sequence token (benchmarks, tests).
    ignore_eos: JsonBool = False


class ChatIn(_Request):
    messages: list[_Message] = Field(min_length=1, max_length=64)


class CompletionIn(_Request):
    prompt: str = Field(min_length=1, max_length=20_000)


class QueueFullError(Exception):
    """Every queue slot is taken; ``retry_after`` seconds is a fair guess of the wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the generation queue is full; retry in {retry_after} s")
        self.retry_after = retry_after


#: What a job's queue carries: a text piece, or the end (finish reason, completion tokens).
@dataclass(frozen=True)
class End:
    """The last item of a job's output."""

    finish_reason: str
    completion_tokens: int


@dataclass
class Job:
    """One generation: its prompt, its settings, where its output goes, and a cancel flag."""

    ids: list[int]
    max_tokens: int
    temperature: float
    loop: asyncio.AbstractEventLoop
    ignore_eos: bool = False
    output: asyncio.Queue[str | End] = field(default_factory=asyncio.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)

    def emit(self, item: str | End) -> None:
        """Hand ``item`` to the waiting handler (thread-safe, never blocks the worker)."""
        try:
            self.loop.call_soon_threadsafe(self.output.put_nowait, item)
        except RuntimeError:  # the loop is closed: the server is stopping
            self.cancel.set()


class Generator:
    """A worker thread that owns the model and runs queued jobs one at a time.

    Args:
        folder: A Hugging Face model folder (tokenizer and causal LM).
        max_queue: Jobs waiting or running at most; more get :class:`QueueFullError`.
        cancelled: Counts generations stopped early (client gone, deadline).
        depth: Tracks the jobs waiting or running.
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_queue: int = 16,
        cancelled: Counter | None = None,
        depth: Gauge | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        # One intra-op thread: a model server shares the machine with the gateway and its
        # peers, and torch's default (a thread per core) makes them fight over every core.
        torch.set_num_threads(1)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder)
        self.model.requires_grad_(False).train(False)
        self.eos = {self.tokenizer.eos_token_id} - {None}
        self.cancelled = cancelled
        self.depth = depth
        self.max_queue = max_queue
        self.seconds_per_job = 1.0  # a running estimate, for Retry-After
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="llm-worker", daemon=True)
        self._thread.start()

    # -- the asyncio side ---------------------------------------------------------------------
    def submit(
        self, ids: list[int], max_tokens: int, temperature: float, *, ignore_eos: bool = False
    ) -> Job:
        """Queue a job (from a running event loop).

        Raises:
            QueueFullError: ``max_queue`` jobs are already waiting or running.
        """
        with self._lock:
            if self._pending >= self.max_queue:
                raise QueueFullError(max(1, round(self.seconds_per_job * self._pending)))
            self._pending += 1
            if self.depth is not None:
                self.depth.set(self._pending)
        job = Job(ids, max_tokens, temperature, asyncio.get_running_loop(), ignore_eos)
        self._jobs.put(job)
        return job

    def close(self) -> None:
        """Stop the worker after the job it is on (queued jobs end as cancelled)."""
        self._jobs.put(None)
        self._thread.join(timeout=30)

    # -- the worker thread ---------------------------------------------------------------------
    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            started = time.monotonic()
            try:
                if job.cancel.is_set():  # its client left while it waited
                    if self.cancelled is not None:
                        self.cancelled.inc()
                    job.emit(End("cancelled", 0))
                else:
                    self._generate(job)
            except Exception as exc:  # a broken job must not take the worker with it
                job.emit(End(f"error: {type(exc).__name__}", 0))
            finally:
                with self._lock:
                    self._pending -= 1
                    if self.depth is not None:
                        self.depth.set(self._pending)
                took = time.monotonic() - started
                self.seconds_per_job = 0.8 * self.seconds_per_job + 0.2 * took
        while True:  # stopping: nothing queued will run
            try:
                left = self._jobs.get_nowait()
            except queue.Empty:
                return
            if left is not None:
                left.emit(End("cancelled", 0))

    def _generate(self, job: Job) -> None:
        import torch

        generated: list[int] = []
        sent = ""
        past: Any = None
        inputs = torch.tensor([job.ids])
        rng = torch.Generator().manual_seed(0)
        finish = "length"
        with torch.no_grad():
            for _ in range(job.max_tokens):
                if job.cancel.is_set():
                    if self.cancelled is not None:
                        self.cancelled.inc()
                    job.emit(End("cancelled", len(generated)))
                    return
                out = self.model(input_ids=inputs, past_key_values=past, use_cache=True)
                past = out.past_key_values
                logits = out.logits[0, -1]
                if job.temperature > 0:
                    # Shift by the largest logit first: a tiny temperature (1e-38 is valid
                    # JSON) then gives -inf for the rest, never inf - inf = NaN.
                    probs = torch.softmax((logits - logits.max()) / job.temperature, dim=-1)
                    token = int(torch.multinomial(probs, 1, generator=rng))
                else:
                    token = int(logits.argmax())
                if token in self.eos and not job.ignore_eos:
                    finish = "stop"
                    break
                generated.append(token)
                inputs = torch.tensor([[token]])
                text = str(self.tokenizer.decode(generated, skip_special_tokens=True))
                # A byte-level token that ends inside a multi-byte character decodes to U+FFFD:
                # hold it back until the character is complete.
                if len(text) > len(sent) and not text.endswith("\ufffd"):
                    job.emit(text[len(sent) :])
                    sent = text
        job.emit(End(finish, len(generated)))


def _doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": {
        "error": {"message": "...", "type": "invalid_request_error", "param": None,
                  "code": None}}}}}  # fmt: skip


#: Every status a generation route answers besides 200, for the OpenAPI document.
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer; with `stream: true`, server-sent events ending with "
        "`data: [DONE]`.",
        "content": {
            "text/event-stream": {
                "schema": {"type": "object", "properties": {"data": {"type": "string"}}}
            }
        },
    },
    400: _doc("Invalid request, or the prompt plus max_tokens does not fit the context."),
    404: _doc("A model this server does not serve."),
    429: _doc("The queue is full; see Retry-After."),
    503: _doc("The generation ended early (the server stopped, or the model failed)."),
    504: _doc("No answer within the request timeout."),
}


def _error(status: int, message: str, param: str | None = None, code: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:  # fmt: skip
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": code}}  # fmt: skip
    return JSONResponse(body, status, headers=headers)


def create_app(
    model: str, cache_dir: Path, *, max_queue: int = 16, request_timeout: float = 60.0
) -> FastAPI:
    """The LLM server for ``model`` (built or converted first if needed).

    Args:
        model: ``tiny``, ``smollm2`` or a model folder.
        cache_dir: Where the tiny model is built.
        max_queue: Requests waiting or generating at most; more get 429.
        request_timeout: Seconds a request may wait and generate before it is cut off.
    """
    folder, name = model_folder(model, cache_dir)
    registry = new_registry()
    cancelled = Counter(
        "servplat_llm_cancelled_total",
        "Generations stopped early because the caller went away or ran out of time.",
        registry=registry,
    )
    depth = Gauge("servplat_llm_queue_depth", "Requests waiting or generating.", registry=registry)
    refused = Counter(
        "servplat_llm_refused_total", "Requests refused with 429 (queue full).", registry=registry
    )
    generator = Generator(folder, max_queue=max_queue, cancelled=cancelled, depth=depth)
    provider = tracer_provider(f"servplat-llm-{name}")
    stop_worker = flushing(provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with stop_worker(app):
            yield
        generator.close()

    app = FastAPI(title=f"llm {name}", lifespan=lifespan)
    instrument(app, provider)
    serve_metrics(app, registry)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Any, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        return _error(400, f"{param or 'body'}: {first.get('msg')}", param)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        """The served model."""
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "servplat"}]}

    @app.post("/v1/chat/completions", response_model=None, responses=RESPONSES)
    async def chat(body: ChatIn, request: Request) -> Any:
        """Answer a conversation."""
        encoded: Any = generator.tokenizer.apply_chat_template(
            [m.model_dump() for m in body.messages],
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
        )
        return await answer(body, [int(i) for i in encoded["input_ids"]], "chat.completion",
                            request)  # fmt: skip

    @app.post("/v1/completions", response_model=None, responses=RESPONSES)
    async def completions(body: CompletionIn, request: Request) -> Any:
        """Continue a prompt."""
        ids = generator.tokenizer(body.prompt, add_special_tokens=False)["input_ids"]
        return await answer(body, [int(i) for i in ids], "text_completion", request)

    async def answer(body: _Request, ids: list[int], kind: str, request: Request) -> Any:
        if body.model != name:
            return _error(404, f"model {body.model!r} not served here", "model", "model_not_found")
        context = int(getattr(generator.model.config, "max_position_embeddings", 0) or 0)
        if context and len(ids) + body.max_tokens > context:
            return _error(400, f"the prompt ({len(ids)} tokens) plus max_tokens "
                          f"({body.max_tokens}) exceeds the model's context of {context}",
                          "messages" if kind == "chat.completion" else "prompt",
                          "context_length_exceeded")  # fmt: skip
        try:
            job = generator.submit(
                ids, body.max_tokens, body.temperature, ignore_eos=body.ignore_eos
            )
        except QueueFullError as exc:
            refused.inc()
            return _error(429, str(exc), code="queue_full",
                          headers={"Retry-After": str(exc.retry_after)})  # fmt: skip
        prefix = "chatcmpl" if kind == "chat.completion" else "cmpl"
        rid, created = f"{prefix}-{uuid.uuid4().hex[:20]}", int(time.time())
        deadline = time.monotonic() + request_timeout

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

        async def next_item() -> str | End:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            return await asyncio.wait_for(job.output.get(), timeout=left)

        if not body.stream:
            parts: list[str] = []
            try:
                while not isinstance(item := await next_item(), End):
                    parts.append(item)
                    if await request.is_disconnected():
                        job.cancel.set()
            except TimeoutError:
                job.cancel.set()
                return _error(504, f"no answer within {request_timeout:g} s", code="timeout")
            if item.finish_reason not in {"stop", "length"}:
                return _error(503, f"generation ended: {item.finish_reason}", code="aborted")
            return {
                "id": rid,
                "object": kind,
                "created": created,
                "model": name,
                "choices": [choice("".join(parts), item.finish_reason, chunk=False)],
                "usage": usage(item.completion_tokens),
            }

        chunk_kind = f"{kind}.chunk" if kind == "chat.completion" else kind

        def event(payload: dict[str, Any]) -> str:
            return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"

        async def events() -> AsyncIterator[str]:
            base = {"id": rid, "object": chunk_kind, "created": created, "model": name}
            try:
                while not isinstance(item := await next_item(), End):
                    yield event({**base, "choices": [choice(item, None, chunk=True)]})
                finish = item.finish_reason
                if finish not in {"stop", "length"}:
                    yield event({"error": {"message": f"generation ended: {finish}",
                                           "type": "server_error", "param": None,
                                           "code": "aborted"}})  # fmt: skip
                else:
                    yield event({**base, "choices": [choice("", finish, chunk=True)]})
                    if (body.stream_options or {}).get("include_usage"):
                        yield event({**base, "choices": [], "usage": usage(item.completion_tokens)})
            except TimeoutError:
                late = f"no answer within {request_timeout:g} s"
                yield event({"error": {"message": late, "type": "timeout", "param": None,
                                       "code": "timeout"}})  # fmt: skip
            finally:
                # Normal end, timeout, or Starlette cancelling this generator because the
                # client left: the worker drops the job either way.
                job.cancel.set()
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def _http_error(_: Any, exc: Any) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    document_framework_errors(app, body_unreadable=RESPONSES[400], render=_http_error)
    served_model_in_openapi(app, name, ("ChatIn", "CompletionIn"))
    return app


def served_model_in_openapi(app: FastAPI, name: str, components: tuple[str, ...]) -> None:
    """The document names the one ``model`` this server answers (others get 404), so a
    client or a fuzzer reading it can call the routes that work."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for component in components:
                props = schema["components"]["schemas"][component]["properties"]
                props["model"] = {**props["model"], "enum": [name]}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
