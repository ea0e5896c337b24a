"""The CPU engine's continuous batching, in process, on the tiny model."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import torch
from llmserve.engine import Delta, RequestStream, SamplingParams, Usage
from llmserve.engine.cpu import CPUEngine
from llmserve.errors import EngineError, QueueFullError

GREEDY = SamplingParams(max_tokens=40, temperature=0)
LONG = SamplingParams(max_tokens=300, temperature=0, ignore_eos=True)


class Recorder:
    """An observer that keeps what the engine reports."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.ends: list[tuple[str, Usage]] = []
        self.ttft: list[float] = []

    def queue_depth(self, waiting: int) -> None:
        pass

    def first_token(self, seconds: float) -> None:
        self.ttft.append(seconds)

    def inter_token(self, seconds: float) -> None:
        pass

    def step(self, batch_size: int, seconds: float, kv_tokens: int, kv_capacity: int) -> None:
        self.steps.append(batch_size)

    def finished(self, reason: str, usage: Usage) -> None:
        self.ends.append((reason, usage))


@pytest.fixture
def make(tiny: Path):  # type: ignore[no-untyped-def]
    engines: list[CPUEngine] = []

    def factory(**kwargs: object) -> CPUEngine:
        eng = CPUEngine(tiny, **kwargs)  # type: ignore[arg-type]
        eng.start()
        engines.append(eng)
        return eng

    yield factory
    for eng in engines:
        eng.stop()


async def collect(stream: RequestStream) -> tuple[str, Delta]:
    text = ""
    async for delta in stream:
        text += delta.text
    return text, delta


def test_batched_greedy_answers_equal_each_answer_alone(engine: CPUEngine) -> None:
    # Long answers first; each request is opened only once the one before it has its first
    # token, so every newcomer joins a batch that is decoding (ordering, not timing).
    prompts = ["The scheduler", "The gateway routes the", "The model registry keeps",
               "What", "A", "The autoscaler adds replicas when the queue"]  # fmt: skip

    async def rest(stream: RequestStream, first: Delta) -> tuple[str, Delta]:
        if first.finish_reason:
            return first.text, first
        text, last = await collect(stream)
        return first.text + text, last

    async def main() -> list[tuple[list[int], str, Delta]]:
        tasks = []
        for prompt in prompts:
            ids = engine.encode_prompt(prompt)
            stream = engine.open(ids, GREEDY)
            first = await stream.__anext__()
            tasks.append((ids, asyncio.create_task(rest(stream, first))))
        return [(ids, *(await task)) for ids, task in tasks]

    results = asyncio.run(main())
    assert max(engine.stats().batch_sizes) >= 3  # they really ran together
    for ids, text, last in results:
        reference = engine.model.generate(
            torch.tensor([ids]),
            max_new_tokens=40,
            do_sample=False,
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
        )
        expected = engine.tokenizer.decode(reference[0][len(ids) :], skip_special_tokens=True)
        assert text == expected, (ids, last.finish_reason)


def test_a_new_request_joins_between_decode_steps(engine: CPUEngine) -> None:
    async def main() -> tuple[float, float]:
        long = engine.open(engine.encode_prompt("The scheduler"), LONG)
        for _ in range(3):
            await long.__anext__()  # the long request is decoding
        await collect(
            engine.open(
                engine.encode_prompt("The gateway"),
                SamplingParams(max_tokens=5, temperature=0, ignore_eos=True),
            )
        )
        short_done = time.perf_counter()
        await collect(long)
        return short_done, time.perf_counter()

    short_done, long_done = asyncio.run(main())
    assert short_done < long_done  # it did not wait for the long one to finish
    assert 2 in engine.stats().batch_sizes  # the two decoded in one batch


def test_batch_size_and_kv_budget_bound_the_batch(make) -> None:  # type: ignore[no-untyped-def]
    params = SamplingParams(max_tokens=30, temperature=0, ignore_eos=True)

    async def burst(eng: CPUEngine, count: int) -> list[str]:
        streams = [eng.open(eng.encode_prompt("The scheduler"), params) for _ in range(count)]
        return [d.finish_reason for _, d in await asyncio.gather(*(collect(s) for s in streams))]  # type: ignore[misc]

    two = make(max_batch_size=2, max_queue=10)
    assert asyncio.run(burst(two, 6)) == ["length"] * 6
    assert max(two.stats().batch_sizes) == 2  # never more rows than max_batch_size
    # Room in the KV budget for one request (prompt + max_tokens) but not two.
    one = make(max_batch_size=8, max_queue=10, max_batch_tokens=40)
    assert asyncio.run(burst(one, 3)) == ["length"] * 3
    assert set(one.stats().batch_sizes) == {1}


def test_a_full_queue_refuses_with_retry_after(make) -> None:  # type: ignore[no-untyped-def]
    eng = make(max_batch_size=1, max_queue=1)

    async def main() -> QueueFullError:
        ids = eng.encode_prompt("The scheduler")
        first, second = eng.open(ids, LONG), eng.open(ids, LONG)
        with pytest.raises(QueueFullError) as refused:
            eng.open(ids, LONG)
        await first.aclose()
        await second.aclose()
        return refused.value

    error = asyncio.run(main())
    assert error.retry_after >= 1
    assert "queue of 1" in str(error)


def test_a_request_in_prefill_holds_its_row_for_the_queue_limit(make) -> None:  # type: ignore[no-untyped-def]
    """The scheduler admits a request, then prefills it outside the lock: in that window the
    request is neither waiting nor running, yet it holds the only batch row. A third request
    must be refused then too (CI once saw it accepted, with the queue over its limit)."""
    eng = make(max_batch_size=1, max_queue=1)
    in_prefill, release = threading.Event(), threading.Event()
    prefill = eng._prefill

    def slow_prefill(seq):  # type: ignore[no-untyped-def]
        in_prefill.set()
        release.wait(30)
        prefill(seq)

    eng._prefill = slow_prefill

    async def main() -> None:
        ids = eng.encode_prompt("The scheduler")
        first = eng.open(ids, LONG)
        assert await asyncio.to_thread(in_prefill.wait, 30)  # admitted, held in prefill
        second = eng.open(ids, LONG)  # the one queue slot
        try:
            with pytest.raises(QueueFullError):
                eng.open(ids, LONG)
        finally:
            release.set()
            await first.aclose()
            await second.aclose()

    asyncio.run(main())


def test_cancelling_frees_the_row_for_the_next_request(make) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    eng = make(max_batch_size=1, max_queue=4, observer=recorder)

    async def main() -> str:
        ids = eng.encode_prompt("The scheduler")
        long = eng.open(ids, SamplingParams(max_tokens=500, temperature=0, ignore_eos=True))
        await long.__anext__()
        await long.aclose()  # the client went away
        _, last = await collect(
            eng.open(ids, SamplingParams(max_tokens=3, temperature=0, ignore_eos=True))
        )
        return str(last.finish_reason)

    assert asyncio.run(main()) == "length"
    reasons = [reason for reason, _ in recorder.ends]
    assert reasons == ["cancelled", "length"]
    cancelled = recorder.ends[0][1]
    assert cancelled.completion_tokens < 100  # stopped long before its 500 tokens
    assert eng.stats().running == 0


def test_stop_strings_max_tokens_and_stop_tokens(engine: CPUEngine) -> None:
    async def run(prompt: str, params: SamplingParams) -> tuple[str, Delta]:
        return await collect(engine.open(engine.encode_prompt(prompt), params))

    text, last = asyncio.run(
        run("The scheduler", SamplingParams(max_tokens=80, temperature=0, stop=("\n",)))
    )
    assert last.finish_reason == "stop"
    assert "\n" not in text
    assert text.endswith(".")
    text, last = asyncio.run(
        run("The scheduler", SamplingParams(max_tokens=80, temperature=0, stop=("two regions",)))
    )
    assert "two" not in text.split()[-1:]  # the held-back prefix of the stop string never left
    text, last = asyncio.run(run("The gateway", SamplingParams(max_tokens=7, ignore_eos=True)))
    assert (last.finish_reason, last.usage.completion_tokens) == ("length", 7)  # type: ignore[union-attr]
    chat = engine.encode_chat([{"role": "user", "content": "What is time to first token?"}])
    text, last = asyncio.run(collect_ids(engine, chat))
    assert last.finish_reason == "stop"  # the model ended its turn with <|end|>
    assert text == "It is the wait before the first token arrives."


async def collect_ids(engine: CPUEngine, ids: list[int]) -> tuple[str, Delta]:
    return await collect(engine.open(ids, GREEDY))


def test_a_seed_repeats_a_sampled_answer(engine: CPUEngine) -> None:
    async def run(seed: int) -> str:
        params = SamplingParams(max_tokens=30, temperature=1.2, seed=seed, ignore_eos=True)
        return (await collect(engine.open(engine.encode_prompt("The"), params)))[0]

    assert asyncio.run(run(3)) == asyncio.run(run(3))
    assert len({asyncio.run(run(seed)) for seed in (1, 2, 3, 4)}) > 1


def test_requests_that_can_never_fit_are_refused(make) -> None:  # type: ignore[no-untyped-def]
    eng = make(max_batch_tokens=100)

    async def main() -> None:
        with pytest.raises(EngineError, match="exceeds the model's context of 512"):
            eng.open([1] * 500, SamplingParams(max_tokens=20))
        with pytest.raises(EngineError, match="more KV cache than max_batch_tokens"):
            eng.open([1] * 50, SamplingParams(max_tokens=60))
        with pytest.raises(EngineError, match="prompt is empty"):
            eng.open([], SamplingParams())

    asyncio.run(main())


def test_stopping_aborts_running_requests(tiny: Path) -> None:
    eng = CPUEngine(tiny)
    eng.start()

    async def main() -> Delta:
        stream = eng.open(
            eng.encode_prompt("The scheduler"), SamplingParams(max_tokens=500, ignore_eos=True)
        )
        await stream.__anext__()
        await asyncio.get_running_loop().run_in_executor(None, eng.stop)
        return (await collect(stream))[1]

    assert asyncio.run(main()).finish_reason == "aborted"
    assert not eng.stats().accepting

    async def after() -> None:
        eng.open([1, 2], SamplingParams())

    with pytest.raises(EngineError, match="not running"):
        asyncio.run(after())


def test_usage_charges_each_request_its_share(make) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    eng = make(max_batch_size=4, observer=recorder)
    params = SamplingParams(max_tokens=40, temperature=0, ignore_eos=True)

    async def main() -> float:
        started = time.perf_counter()
        streams = [eng.open(eng.encode_prompt("The gateway"), params) for _ in range(4)]
        await asyncio.gather(*(collect(s) for s in streams))
        return time.perf_counter() - started

    wall = asyncio.run(main())
    usages = [usage for _, usage in recorder.ends]
    assert [u.completion_tokens for u in usages] == [40] * 4
    assert all(u.prompt_tokens == len(eng.encode_prompt("The gateway")) for u in usages)
    # Four requests shared each step: together they used about one wall-clock run, not four.
    assert sum(u.compute_seconds for u in usages) <= wall * 1.05
    assert all(u.ttft_seconds is not None and u.ttft_seconds <= wall for u in usages)
    assert max(recorder.steps) == 4


def test_a_crash_in_the_scheduler_ends_every_request(make) -> None:  # type: ignore[no-untyped-def]
    class Broken(Recorder):
        def queue_depth(self, waiting: int) -> None:
            # Raised on the scheduler thread between admitting a request and prefilling it:
            # the request is then neither waiting nor running.
            if threading.current_thread().name == "llmserve-engine":
                raise RuntimeError("a bug in a metrics hook")

    eng = make(max_batch_size=1, max_queue=4, observer=Broken())

    async def main() -> list[str | None]:
        ids = eng.encode_prompt("The scheduler")
        streams = [eng.open(ids, SamplingParams(max_tokens=5)) for _ in range(3)]
        done = await asyncio.wait_for(asyncio.gather(*(collect(s) for s in streams)), 30)
        return [last.finish_reason for _, last in done]

    # Running, admitted and waiting requests alike end (nobody hangs), and the engine says
    # it is down, so /readyz turns 503.
    assert asyncio.run(main()) == ["aborted"] * 3
    assert not eng.stats().accepting
