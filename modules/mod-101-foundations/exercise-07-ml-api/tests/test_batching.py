"""Dynamic batching: requests of one event-loop turn share a model call, each caller still
gets exactly its own answer, and a failure or a caller that left is handled per batch."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from mlapi import model as model_lib
from mlapi.batching import LoopBatcher
from mlapi.data import load_dataset


class _Calls:
    def __init__(self) -> None:
        self.rows: list[int] = []

    def __call__(self, rows: int, seconds: float) -> None:
        assert seconds >= 0
        self.rows.append(rows)


def _batcher(predictor: Any, **kwargs: Any) -> tuple[LoopBatcher, _Calls]:
    calls = _Calls()
    return LoopBatcher(lambda: predictor, observe=calls, **kwargs), calls


def test_one_turn_is_one_model_call_and_each_caller_gets_its_rows(
    trained: model_lib.TrainedModel,
) -> None:
    predictor = model_lib.Predictor(trained)
    x = load_dataset().x
    requests = [x[i : i + 1 + i % 3] for i in range(0, 120, 3)]  # 1, 2 or 3 rows each
    batcher, calls = _batcher(predictor)

    async def main() -> list[tuple[str, Any]]:
        return await asyncio.gather(*(batcher.predict_proba(r) for r in requests))

    answers = asyncio.run(main())
    assert calls.rows == [sum(len(r) for r in requests)], "one call for the whole turn"
    for rows, (version, probs) in zip(requests, answers, strict=True):
        assert version == trained.version
        _, alone = predictor.predict_proba(rows)
        np.testing.assert_allclose(probs, alone, atol=1e-6)


def test_turns_do_not_wait_for_each_other(trained: model_lib.TrainedModel) -> None:
    predictor = model_lib.Predictor(trained)
    batcher, calls = _batcher(predictor)
    row = load_dataset().x[:1]

    async def main() -> None:
        for _ in range(3):  # one after the other: each alone in its turn
            await batcher.predict_proba(row)

    asyncio.run(main())
    assert calls.rows == [1, 1, 1]


def test_a_full_turn_is_flushed_early(trained: model_lib.TrainedModel) -> None:
    batcher, calls = _batcher(model_lib.Predictor(trained), max_rows=8)
    rows = load_dataset().x[:3]

    async def main() -> None:
        await asyncio.gather(*(batcher.predict_proba(rows) for _ in range(5)))

    asyncio.run(main())
    assert calls.rows == [9, 6], "flushed at 9 >= 8 rows, the rest at the end of the turn"


def test_a_failing_model_call_fails_every_caller_of_its_batch() -> None:
    class Broken:
        def predict_proba(self, rows: Any) -> Any:
            raise RuntimeError("model exploded")

    batcher, calls = _batcher(Broken())
    row = np.ones((1, 4), dtype=np.float32)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(batcher.predict_proba(row) for _ in range(4)), return_exceptions=True
        )

    results = asyncio.run(main())
    assert [str(r) for r in results] == ["model exploded"] * 4
    assert calls.rows == []


def test_a_caller_that_left_is_skipped_and_the_others_answered(
    trained: model_lib.TrainedModel,
) -> None:
    batcher, calls = _batcher(model_lib.Predictor(trained))
    row = load_dataset().x[:1]

    async def main() -> list[Any]:
        tasks = [asyncio.create_task(batcher.predict_proba(row)) for _ in range(3)]
        await asyncio.sleep(0)  # all three queued in this turn, the flush not yet run
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    first, second, third = asyncio.run(main())
    assert isinstance(second, asyncio.CancelledError)
    assert first[0] == third[0] == trained.version
    assert calls.rows == [3]


@pytest.mark.parametrize("callers", [64])
def test_concurrent_http_callers_each_get_their_own_flower(client: Any, callers: int) -> None:
    """Through the real app: more concurrent callers than the thread pool has threads."""
    import httpx
    from mlapi.data import FEATURES

    x = load_dataset().x
    flowers = [dict(zip(FEATURES, map(float, x[i]), strict=True)) for i in range(callers)]
    alone = [client.post("/v1/predict", json=f).json()["predictions"][0] for f in flowers]

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            return await asyncio.gather(*(http.post("/v1/predict", json=f) for f in flowers))

    before = _model_calls(client)
    answers = asyncio.run(main())
    assert [a.status_code for a in answers] == [200] * callers
    assert [a.json()["predictions"][0] for a in answers] == alone
    calls, rows = (after - was for after, was in zip(_model_calls(client), before, strict=True))
    assert rows == callers
    assert calls < callers, "concurrent requests shared model calls"


def _model_calls(client: Any) -> tuple[float, float]:
    text = client.get("/metrics").text
    values = {}
    for line in text.splitlines():
        for name in ("mlapi_model_batch_rows_count", "mlapi_model_batch_rows_sum"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    return values["mlapi_model_batch_rows_count"], values["mlapi_model_batch_rows_sum"]
