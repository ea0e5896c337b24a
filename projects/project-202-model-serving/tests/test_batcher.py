"""The micro-batcher: full batches go at once, partial ones after the wait, errors reach all."""

from __future__ import annotations

import asyncio

import pytest
from servplat.batcher import MicroBatcher


def test_batches_fill_up_to_the_maximum_and_results_go_back_in_order() -> None:
    calls: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        calls.append(items)
        return [i * 10 for i in items]

    async def main() -> list[int]:
        batcher = MicroBatcher(send, max_batch=4, max_wait=0.05, eager=False)
        return list(await asyncio.gather(*(batcher.submit(i) for i in range(10))))

    assert asyncio.run(main()) == [i * 10 for i in range(10)]
    assert [len(c) for c in calls] == [4, 4, 2]  # the last two went after the wait


def test_a_lone_item_waits_at_most_max_wait() -> None:
    sizes: list[int] = []

    async def send(items: list[str]) -> list[str]:
        return [i.upper() for i in items]

    async def main() -> tuple[str, float]:
        batcher = MicroBatcher(
            send, max_batch=100, max_wait=0.01, on_batch=sizes.append, eager=False
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await batcher.submit("x")
        return result, loop.time() - started

    result, waited = asyncio.run(main())
    assert result == "X"
    assert sizes == [1]
    assert waited >= 0.01  # it did wait for company


def test_a_failed_batch_fails_each_of_its_callers() -> None:
    async def send(items: list[int]) -> list[int]:
        raise ConnectionError("backend down")

    async def main() -> list[BaseException | int]:
        batcher = MicroBatcher(send, max_batch=3, max_wait=0.01)
        return list(
            await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
        )

    results = asyncio.run(main())
    assert all(isinstance(r, ConnectionError) for r in results)


def test_a_short_answer_is_an_error_not_a_silent_mismatch() -> None:
    async def send(items: list[int]) -> list[int]:
        return items[:-1]

    async def main() -> None:
        batcher = MicroBatcher(send, max_batch=2, max_wait=0.01)
        await asyncio.gather(batcher.submit(1), batcher.submit(2))

    with pytest.raises(RuntimeError, match="returned 1 results for 2"):
        asyncio.run(main())


def test_eager_sends_a_lone_item_at_once_and_batches_what_queues_meanwhile() -> None:
    sizes: list[int] = []

    async def send(items: list[int]) -> list[int]:
        await asyncio.sleep(0.02)  # the backend works; callers arriving now queue up
        return [i + 1 for i in items]

    async def main() -> tuple[float, list[int]]:
        batcher = MicroBatcher(send, max_batch=8, max_wait=1.0, on_batch=sizes.append, eager=True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await batcher.submit(0) == 1
        alone = loop.time() - started
        first = asyncio.ensure_future(batcher.submit(1))  # goes at once: the backend is idle
        await asyncio.sleep(0.005)
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(2, 7)]  # queue behind it
        results = await asyncio.gather(first, *rest)
        return alone, list(results)

    alone, results = asyncio.run(main())
    assert alone < 0.5  # far below max_wait (1 s): no waiting for company when alone
    assert results == [2, 3, 4, 5, 6, 7]
    assert sizes == [1, 1, 5]  # the five that queued went together when the backend was free
