"""vLLM's async engine on a GPU, behind the same :class:`~llmserve.engine.Engine` interface.

vLLM does continuous batching itself (PagedAttention, chunked prefill); this class only adapts
its ``AsyncLLM`` (``AsyncLLMEngine`` in older releases) to ``open``/``stats``/``stop`` and
turns its cumulative outputs into deltas. vLLM is **not** a dependency of this package: it
pins a CUDA build of torch that the workspace's CPU lock must never take. On a GPU host,
install it into the package's environment (``uv pip install vllm``) or use the GPU image
(``docker/Dockerfile.llmserve-vllm``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from llmserve.engine import Delta, EngineStats, RequestStream, SamplingParams, Usage
from llmserve.errors import EngineError, QueueFullError

INSTALL_HINT = (
    "vLLM is not installed: on a CUDA host run `uv pip install vllm` in this package's "
    "environment (it brings its own CUDA torch), or build docker/Dockerfile.llmserve-vllm"
)


def vllm_available() -> bool:
    """Whether ``import vllm`` would work (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


class VLLMEngine:
    """``vllm.AsyncLLM`` behind the llmserve engine interface.

    Args:
        model: A local model folder (or a model id vLLM can load on that host).
        name: The model id clients use.
        max_batch_size: vLLM's ``max_num_seqs``.
        max_queue: Requests beyond the running batch before 429.
        gpu_memory_utilization: Share of GPU memory vLLM may take for weights and KV blocks.
        observer: Metrics sink (time to first token, inter-token latency, finishes).

    Raises:
        EngineError: vLLM is not installed.
    """

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        max_batch_size: int = 64,
        max_queue: int = 64,
        gpu_memory_utilization: float = 0.85,
        observer: Any = None,
    ) -> None:
        if not vllm_available():
            raise EngineError(INSTALL_HINT)
        self.model = model
        self.name = name or Path(model).name
        self.max_batch_size = max_batch_size
        self.max_queue = max_queue
        self.gpu_memory_utilization = gpu_memory_utilization
        self.observer = observer
        self.max_model_len = 0
        self._engine: Any = None
        self._tokenizer: Any = None
        self._in_flight = 0

    def start(self) -> None:
        """Load the model onto the GPU and start vLLM's engine core."""
        if self._engine is not None:
            return
        from transformers import AutoTokenizer
        from vllm import AsyncEngineArgs

        try:
            from vllm.v1.engine.async_llm import AsyncLLM as Async
        except ImportError:  # older releases
            from vllm import AsyncLLMEngine as Async

        args = AsyncEngineArgs(
            model=self.model,
            max_num_seqs=self.max_batch_size,
            gpu_memory_utilization=self.gpu_memory_utilization,
        )
        self._engine = Async.from_engine_args(args)
        self._tokenizer = AutoTokenizer.from_pretrained(self.model)
        self.max_model_len = int(self._engine.model_config.max_model_len)

    def stop(self) -> None:
        """Shut vLLM's engine core down."""
        if self._engine is not None:
            self._engine.shutdown()
            self._engine = None

    def encode_prompt(self, prompt: str) -> list[int]:
        """Token ids of a completion prompt."""
        return list(self._tokenizer(prompt, add_special_tokens=False)["input_ids"])

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        """Token ids of a chat through the model's template."""
        if not getattr(self._tokenizer, "chat_template", None):
            raise EngineError(f"model {self.name} has no chat template: use /v1/completions")
        out = self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return list(out["input_ids"])

    def stats(self) -> EngineStats:
        """In-flight requests split into running (up to the batch size) and waiting."""
        running = min(self._in_flight, self.max_batch_size)
        return EngineStats(
            waiting=self._in_flight - running,
            running=running,
            max_batch_size=self.max_batch_size,
            kv_tokens=0,
            kv_capacity=0,
            accepting=self._engine is not None,
        )

    def open(self, prompt_ids: list[int], params: SamplingParams) -> RequestStream:
        """Submit to vLLM.

        Raises:
            EngineError: Not started.
            QueueFullError: More than ``max_batch_size + max_queue`` requests in flight.
        """
        from vllm import SamplingParams as VllmSampling

        if self._engine is None:
            raise EngineError("the engine is not running")
        if self._in_flight >= self.max_batch_size + self.max_queue:
            raise QueueFullError(f"{self._in_flight} requests in flight", retry_after=1)
        sampling = VllmSampling(
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
            stop=list(params.stop),
            ignore_eos=params.ignore_eos,
        )
        request_id = uuid.uuid4().hex
        outputs = self._engine.generate({"prompt_token_ids": prompt_ids}, sampling, request_id)
        self._in_flight += 1
        return _VllmStream(self, outputs, request_id, len(prompt_ids))


class _VllmStream:
    """Cumulative ``RequestOutput`` objects turned into deltas."""

    def __init__(
        self, engine: VLLMEngine, outputs: AsyncIterator[Any], request_id: str, prompt_tokens: int
    ) -> None:
        self.engine = engine
        self.outputs = outputs
        self.request_id = request_id
        self.prompt_tokens = prompt_tokens
        self.arrival = time.perf_counter()
        self.first: float | None = None
        self.last = self.arrival
        self.text_len = 0
        self.tokens = 0
        self.done = False

    def __aiter__(self) -> AsyncIterator[Delta]:
        return self

    async def __anext__(self) -> Delta:
        if self.done:
            raise StopAsyncIteration
        out = await self.outputs.__anext__()
        completion = out.outputs[0]
        now = time.perf_counter()
        observer = self.engine.observer
        if self.first is None:
            self.first = now
            if observer:
                observer.first_token(now - self.arrival)
        elif observer:
            observer.inter_token(now - self.last)
        self.last = now
        text = completion.text[self.text_len :]
        self.text_len = len(completion.text)
        new_ids = tuple(completion.token_ids[self.tokens :])
        self.tokens = len(completion.token_ids)
        reason = completion.finish_reason if out.finished else None
        if reason is None:
            return Delta(text=text, token_ids=new_ids)
        self._release()
        reason = "aborted" if reason == "abort" else reason
        usage = Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.tokens,
            ttft_seconds=self.first - self.arrival,
            compute_seconds=now - self.arrival,
        )
        if observer:
            observer.finished(reason, usage)
        return Delta(text=text, token_ids=new_ids, finish_reason=reason, usage=usage)

    def _release(self) -> None:
        if not self.done:
            self.done = True
            self.engine._in_flight -= 1

    async def aclose(self) -> None:
        """Abort the request in vLLM if it is still generating."""
        if self.done:
            return
        self._release()
        engine = self.engine._engine
        if engine is not None:
            await engine.abort(self.request_id)
        close = getattr(self.outputs, "aclose", None)
        if close is not None:
            await asyncio.shield(close())
