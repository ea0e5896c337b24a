"""A transformers + torch engine with continuous batching of its own.

One scheduler thread owns the model and loops:

1. drop the running sequences whose client went away (``cancel``);
2. **admit** waiting sequences while the batch has room: at most ``max_batch_size`` rows, and
   the prompts plus ``max_tokens`` of everything admitted fit ``max_batch_tokens`` (the KV
   budget is reserved up front, so nothing ever has to be evicted mid-answer);
3. **prefill** each admitted sequence alone: one forward pass over its prompt gives its cache
   and its first token (time to first token);
4. **decode** one token for every running row in a single forward pass
   (:class:`~llmserve.engine.batch.BatchCache`);
5. **retire** rows that hit a stop token, a stop string, ``max_tokens`` or the context.

New requests therefore join between decode steps instead of waiting for the whole batch to
finish: that is continuous batching, as in Orca (Yu et al., OSDI 2022) and vLLM. With
``max_batch_size = 1`` the same engine serves one request at a time, which is the baseline
``llmserve bench`` compares against.

Deltas reach asyncio through ``loop.call_soon_threadsafe`` (:class:`_Stream`); closing a
stream early cancels its sequence, which frees its row at the next step.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from math import ceil
from pathlib import Path
from typing import Any, Protocol

import torch

from llmserve.engine import Delta, EngineStats, RequestStream, SamplingParams, Usage
from llmserve.engine.batch import BatchCache
from llmserve.engine.sampling import make_generator, sample
from llmserve.errors import EngineError, ModelError, QueueFullError

logger = logging.getLogger(__name__)

Sink = Callable[[Delta], None]


class EngineObserver(Protocol):
    """Receives what the scheduler measures (the Prometheus metrics implement it)."""

    def queue_depth(self, waiting: int) -> None:
        """Requests waiting for admission."""

    def first_token(self, seconds: float) -> None:
        """Arrival to first token of one request."""

    def inter_token(self, seconds: float) -> None:
        """Gap between two tokens of one request."""

    def step(self, batch_size: int, seconds: float, kv_tokens: int, kv_capacity: int) -> None:
        """One decode step."""

    def finished(self, reason: str, usage: Usage) -> None:
        """A request ended."""


@dataclass
class _Seq:
    id: int
    prompt_ids: list[int]
    params: SamplingParams
    sink: Sink
    arrival: float
    rng: torch.Generator | None
    generated: list[int] = field(default_factory=list)
    pending: int = -1  # last sampled token, fed at the next decode step
    text: str = ""  # the answer so far, detokenized incrementally
    prefix_offset: int = 0  # incremental detokenization window (see _detokenize)
    read_offset: int = 0
    emitted: int = 0  # characters of text already sent
    admitted_at: float = 0.0
    first_token_at: float | None = None
    last_token_at: float = 0.0
    compute_seconds: float = 0.0
    cancelled: bool = False
    finished: bool = False

    @property
    def budget(self) -> int:
        """KV tokens reserved for this sequence: its prompt and its longest answer."""
        return len(self.prompt_ids) + self.params.max_tokens


class CPUEngine:
    """Serve a local Hugging Face causal-LM folder with continuous batching.

    Args:
        model_dir: A folder ``AutoModelForCausalLM.from_pretrained`` reads.
        name: The model id clients use (default: the folder's name).
        max_batch_size: Rows decoded together (1 turns batching off).
        max_batch_tokens: KV-cache budget in tokens across the batch.
        max_queue: Requests that may wait beyond a full batch; one more and ``submit`` raises
            :class:`QueueFullError` (so at most ``max_batch_size + max_queue`` in flight).
        threads: torch intra-op threads (default: torch's choice).
        observer: Metrics sink.

    Raises:
        ModelError: The folder cannot be loaded.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str | None = None,
        max_batch_size: int = 8,
        max_batch_tokens: int = 8192,
        max_queue: int = 64,
        threads: int | None = None,
        observer: EngineObserver | None = None,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if max_batch_size < 1 or max_batch_tokens < 1 or max_queue < 0:
            raise EngineError("max_batch_size and max_batch_tokens must be >= 1, max_queue >= 0")
        if threads:
            torch.set_num_threads(threads)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
            self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load a model from {model_dir}: {exc}") from None
        self.model.requires_grad_(False).train(False)  # inference only: eval mode, no grads
        self.name = name or Path(model_dir).name
        config = self.model.config
        self.max_model_len = int(getattr(config, "max_position_embeddings", 2048))
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            self.eos_ids.add(self.tokenizer.eos_token_id)
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.max_queue = max_queue
        self.observer = observer

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._waiting: deque[_Seq] = deque()
        self._running: list[_Seq] = []
        # Admitted by the scheduler but still in prefill (outside the lock): in neither
        # _waiting nor _running, yet they hold batch rows.
        self._prefilling: list[_Seq] = []
        self._by_id: dict[int, _Seq] = {}
        self._ids = itertools.count(1)
        self._batch = BatchCache()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._steps = 0
        self._batch_sizes: dict[int, int] = {}
        self._recent: deque[float] = deque(maxlen=50)  # durations of finished requests

    # -- tokenization -------------------------------------------------------------------
    def encode_prompt(self, prompt: str) -> list[int]:
        """Token ids of a completion prompt (no special tokens added)."""
        return list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        """Token ids of a chat through the model's chat template, assistant turn opened.

        Raises:
            EngineError: The model has no chat template.
        """
        if not getattr(self.tokenizer, "chat_template", None):
            raise EngineError(f"model {self.name} has no chat template: use /v1/completions")
        encoded: Any = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return [int(i) for i in encoded["input_ids"]]

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the scheduler thread (idempotent)."""
        with self._lock:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="llmserve-engine", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread; waiting and running requests end with ``aborted``."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        with self._lock:
            orphans = list(self._waiting) + self._prefilling + self._running
            self._waiting.clear()
            self._prefilling = []
            self._running = []
            self._batch = BatchCache()
            self._thread = None
        for seq in orphans:
            self._finish(seq, "aborted", "")

    # -- requests -------------------------------------------------------------------------
    def submit(self, prompt_ids: list[int], params: SamplingParams, sink: Sink) -> int:
        """Queue a request; ``sink`` receives its deltas on the scheduler thread.

        Returns:
            The sequence id (for :meth:`cancel`).

        Raises:
            EngineError: Not started, or the request can never fit the context or KV budget.
            QueueFullError: ``max_queue`` requests are already waiting.
        """
        if not prompt_ids:
            raise EngineError("the prompt is empty")
        if len(prompt_ids) + params.max_tokens > self.max_model_len:
            raise EngineError(
                f"prompt ({len(prompt_ids)} tokens) plus max_tokens ({params.max_tokens}) "
                f"exceeds the model's context of {self.max_model_len} tokens"
            )
        if len(prompt_ids) + params.max_tokens > self.max_batch_tokens:
            raise EngineError(
                f"request needs more KV cache than max_batch_tokens ({self.max_batch_tokens})"
            )
        with self._lock:
            if self._thread is None or self._stopping:
                raise EngineError("the engine is not running")
            # Requests that will take a free row at the next step are not really queued: a
            # burst arrives faster than the scheduler admits, so count only what is beyond
            # the batch's free rows.
            free_rows = max(0, self.max_batch_size - len(self._live()))
            if len(self._waiting) >= self.max_queue + free_rows:
                raise QueueFullError(
                    f"{len(self._waiting)} requests are waiting for {free_rows} free batch "
                    f"rows and a queue of {self.max_queue}",
                    retry_after=self._retry_after(),
                )
            seq = _Seq(
                next(self._ids),
                list(prompt_ids),
                params,
                sink,
                time.perf_counter(),
                make_generator(params),
            )
            self._waiting.append(seq)
            self._by_id[seq.id] = seq
            waiting = len(self._waiting)
            self._wake.notify()
        if self.observer:
            self.observer.queue_depth(waiting)
        return seq.id

    def cancel(self, seq_id: int) -> None:
        """Stop generating for ``seq_id``: its row is freed at the next step (no-op if done)."""
        with self._lock:
            seq = self._by_id.get(seq_id)
            if seq is None or seq.finished:
                return
            seq.cancelled = True
            if seq in self._waiting:
                self._waiting.remove(seq)
                queued = True
            else:
                queued = False
            self._wake.notify()
        if queued:
            self._finish(seq, "cancelled", "")

    def open(self, prompt_ids: list[int], params: SamplingParams) -> RequestStream:
        """Submit now and return the request's deltas as an async iterator (call it inside
        the event loop); ``aclose()`` before the end cancels the request.

        Raises:
            QueueFullError: ``max_queue`` requests are already waiting.
            EngineError: See :meth:`submit`.
        """
        stream = _Stream(self, asyncio.get_running_loop())
        stream.seq_id = self.submit(prompt_ids, params, stream.deliver)
        return stream

    def stats(self) -> EngineStats:
        """Queue, batch and KV-cache use right now."""
        with self._lock:
            return EngineStats(
                waiting=len(self._waiting),
                running=len(self._live()),
                max_batch_size=self.max_batch_size,
                kv_tokens=sum(s.budget for s in self._live()),
                kv_capacity=self.max_batch_tokens,
                accepting=self._thread is not None and not self._stopping,
                steps=self._steps,
                batch_sizes=dict(self._batch_sizes),
            )

    def _live(self) -> list[_Seq]:
        """Running sequences that have not finished. A finished row leaves the batch at the end
        of the scheduler's step; its client may already have its last delta, so it no longer
        counts as running, nor as taking a row. (Call with the lock held.)"""
        return [s for s in (*self._prefilling, *self._running) if not s.finished]

    def _retry_after(self) -> int:
        """Seconds a refused client should wait: recent request time, per batch of queue."""
        typical = sorted(self._recent)[len(self._recent) // 2] if self._recent else 1.0
        return max(1, ceil(typical * (len(self._waiting) / self.max_batch_size + 1)))

    # -- the scheduler ------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            with torch.inference_mode():
                while True:
                    with self._lock:
                        while not (self._stopping or self._waiting or self._running):
                            self._wake.wait()
                        if self._stopping:
                            return
                        cancelled = [s for s in self._running if s.cancelled]
                        admitted = self._admit()
                        self._prefilling = list(admitted)
                        waiting = len(self._waiting)
                    for seq in cancelled:
                        self._finish(seq, "cancelled", "")
                    if self.observer and admitted:
                        self.observer.queue_depth(waiting)
                    for seq in admitted:
                        self._prefill(seq)
                    self._retire()
                    if self._running:
                        self._decode()
                        self._retire()
        except Exception:  # a bug must not leave clients hanging forever
            logger.exception("engine loop crashed; ending every request")
            with self._lock:
                # Every unfinished request, wherever it was: waiting, running, or admitted
                # but not yet prefilled (in neither list).
                orphans = list(self._by_id.values())
                self._waiting.clear()
                self._prefilling = []
                self._running = []
                self._batch = BatchCache()
                self._thread = None
                self._stopping = True
            for seq in orphans:
                self._finish(seq, "aborted", "")

    def _admit(self) -> list[_Seq]:
        """Move waiting sequences into the batch while rows and KV budget allow (FIFO)."""
        admitted: list[_Seq] = []
        reserved = sum(s.budget for s in self._running)
        while self._waiting and len(self._running) + len(admitted) < self.max_batch_size:
            head = self._waiting[0]
            if reserved + head.budget > self.max_batch_tokens:
                break  # FIFO: the head waits for room rather than being overtaken
            self._waiting.popleft()
            reserved += head.budget
            head.admitted_at = time.perf_counter()
            admitted.append(head)
        return admitted

    def _prefill(self, seq: _Seq) -> None:
        started = time.perf_counter()
        out = self.model(input_ids=torch.tensor([seq.prompt_ids]), use_cache=True)
        token = sample(out.logits[0, -1], seq.params, seq.rng)
        seq.compute_seconds += time.perf_counter() - started
        self._batch.add(out.past_key_values)
        with self._lock:
            self._running.append(seq)
            self._prefilling.remove(seq)
        self._accept(seq, token)

    def _decode(self) -> None:
        rows = list(self._running)
        started = time.perf_counter()
        mask, positions = self._batch.decode_inputs()
        out = self.model(
            input_ids=torch.tensor([[s.pending] for s in rows]),
            attention_mask=mask,
            position_ids=positions,
            past_key_values=self._batch.cache,
            use_cache=True,
        )
        self._batch.cache = out.past_key_values
        logits = out.logits[:, -1]
        if all(s.params.temperature <= 0 for s in rows):  # all greedy: one arg-max for the batch
            tokens = logits.argmax(dim=-1).tolist()
        else:
            tokens = [sample(logits[i], s.params, s.rng) for i, s in enumerate(rows)]
        seconds = time.perf_counter() - started
        self._steps += 1
        self._batch_sizes[len(rows)] = self._batch_sizes.get(len(rows), 0) + 1
        for seq, token in zip(rows, tokens, strict=True):
            seq.compute_seconds += seconds / len(rows)
            self._accept(seq, token)
        if self.observer:
            self.observer.step(len(rows), seconds, self._batch.real_tokens(), self.max_batch_tokens)

    def _retire(self) -> None:
        with self._lock:
            keep = [i for i, s in enumerate(self._running) if not s.finished]
            if len(keep) != len(self._running):
                self._batch.keep(keep)
                self._running = [self._running[i] for i in keep]

    # -- tokens to text ---------------------------------------------------------------------
    def _accept(self, seq: _Seq, token: int) -> None:
        """Record one sampled token, emit the text it completes, finish when a limit is hit."""
        now = time.perf_counter()
        if seq.first_token_at is None:
            seq.first_token_at = now
            if self.observer:
                self.observer.first_token(now - seq.arrival)
        elif self.observer:
            self.observer.inter_token(now - seq.last_token_at)
        seq.last_token_at = now
        if seq.cancelled:
            self._finish(seq, "cancelled", "")
            return
        if token in self.eos_ids and not seq.params.ignore_eos:
            self._finish(seq, "stop", seq.text[seq.emitted :])
            return
        seq.generated.append(token)
        seq.pending = token
        text = self._detokenize(seq)
        reason = None
        for stop in seq.params.stop:
            at = text.find(stop)
            if at != -1:
                text, reason = text[:at], "stop"
        if reason is None and len(seq.generated) >= seq.params.max_tokens:
            reason = "length"
        if reason is None and len(seq.prompt_ids) + len(seq.generated) >= self.max_model_len:
            reason = "length"
        if reason is not None:
            self._finish(seq, reason, text[seq.emitted :])
            return
        visible = len(text) - _held_back(text, seq.params.stop)
        if visible > seq.emitted:
            seq.sink(Delta(text=text[seq.emitted : visible], token_ids=(token,)))
            seq.emitted = visible

    def _detokenize(self, seq: _Seq) -> str:
        """Append the text the newest token completes to ``seq.text`` and return it.

        Decoding the whole answer at every token costs O(n) per token. Instead only a short
        window is decoded: the tokens from ``prefix_offset`` (a few before the last emitted
        one, so merges across the boundary decode right) to the end, compared with the same
        window without the new tokens. A byte-level token that ends inside a multi-byte
        character decodes to U+FFFD and is held until the character completes (the scheme
        of Hugging Face TGI and vLLM).
        """
        ids = seq.generated
        decode = self.tokenizer.decode
        before = str(decode(ids[seq.prefix_offset : seq.read_offset], skip_special_tokens=True))
        after = str(decode(ids[seq.prefix_offset :], skip_special_tokens=True))
        if len(after) > len(before) and not after.endswith("\ufffd"):
            seq.text += after[len(before) :]
            seq.prefix_offset = seq.read_offset
            seq.read_offset = len(ids)
        return seq.text

    def _finish(self, seq: _Seq, reason: str, text: str) -> None:
        if seq.finished:
            return
        seq.finished = True
        seq.emitted += len(text)
        now = time.perf_counter()
        usage = Usage(
            prompt_tokens=len(seq.prompt_ids),
            completion_tokens=len(seq.generated),
            queue_seconds=(seq.admitted_at or now) - seq.arrival,
            ttft_seconds=None if seq.first_token_at is None else seq.first_token_at - seq.arrival,
            compute_seconds=seq.compute_seconds,
        )
        with self._lock:
            self._by_id.pop(seq.id, None)
            self._recent.append(now - seq.arrival)
        if self.observer:
            self.observer.finished(reason, usage)
        seq.sink(Delta(text=text, finish_reason=reason, usage=usage))


class _Stream:
    """One request's deltas, handed from the scheduler thread to an asyncio queue."""

    def __init__(self, engine: CPUEngine, loop: asyncio.AbstractEventLoop) -> None:
        self.engine = engine
        self.loop = loop
        self.queue: asyncio.Queue[Delta] = asyncio.Queue()
        self.seq_id = 0
        self.done = False

    def deliver(self, delta: Delta) -> None:
        """Called on the scheduler thread."""
        # A closed event loop raises RuntimeError: nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, delta)

    def __aiter__(self) -> AsyncIterator[Delta]:
        return self

    async def __anext__(self) -> Delta:
        """The next delta; deltas that are already waiting are merged into one.

        A reader that falls behind (a busy event loop, a slow client) then gets one chunk
        with several tokens instead of one event per token, which is what keeps per-token
        HTTP overhead from eating the batching gain. Nothing is delayed: only what already
        arrived is merged.
        """
        if self.done:
            raise StopAsyncIteration
        delta = await self.queue.get()
        while delta.finish_reason is None and not self.queue.empty():
            more = self.queue.get_nowait()
            delta = Delta(
                text=delta.text + more.text,
                token_ids=delta.token_ids + more.token_ids,
                finish_reason=more.finish_reason,
                usage=more.usage,
            )
        self.done = delta.finish_reason is not None
        return delta

    async def aclose(self) -> None:
        """Cancel the request unless it has finished."""
        if not self.done:
            self.done = True
            self.engine.cancel(self.seq_id)


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """Characters at the end of ``text`` that could still become a stop string."""
    held = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:size]):
                held = max(held, size)
                break
    return held
