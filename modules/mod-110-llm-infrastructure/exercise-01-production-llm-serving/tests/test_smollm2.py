"""SmolLM2-135M-Instruct, a real instruction-tuned model, through the same engine and API.

The GGUF is converted into the shared model cache (``model_cache``): in CI the cache starts
empty, so the first session that needs SmolLM2 (this one or 110-02's) runs the conversion.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import torch
from llmserve.engine import SamplingParams
from llmserve.engine.cpu import CPUEngine

from aiinfra_shared import smollm2

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol_dir(model_cache: Path) -> Path:
    """SmolLM2 converted into the shared cache (about 20 s, once)."""
    return smollm2.model_dir(model_cache)


@pytest.fixture(scope="module")
def smol_server(smol_dir: Path, model_cache: Path, live: Callable[..., Any]) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIINFRA_MODEL_CACHE", str(model_cache))  # where the server finds it
        with live(model="smollm2") as server:
            yield server


def test_continuous_batching_matches_generate_on_a_real_model(smol_dir: Path) -> None:
    engine = CPUEngine(smol_dir, max_batch_size=4)
    engine.start()
    questions = ["What is the capital of France?", "Name three primary colors.", "What is 2 + 2?"]
    params = SamplingParams(max_tokens=20, temperature=0)

    async def ask(i: int, question: str) -> tuple[list[int], str]:
        await asyncio.sleep(0.15 * i)  # arrive while the others decode
        ids = engine.encode_chat([{"role": "user", "content": question}])
        text = ""
        async for delta in engine.open(ids, params):
            text += delta.text
        return ids, text

    async def main() -> list[tuple[list[int], str]]:
        return list(await asyncio.gather(*(ask(i, q) for i, q in enumerate(questions))))

    try:
        answers = asyncio.run(main())
        assert max(engine.stats().batch_sizes) >= 2
        for ids, text in answers:
            reference = engine.model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=20,
                do_sample=False,
            )
            expected = engine.tokenizer.decode(reference[0][len(ids) :], skip_special_tokens=True)
            assert text == expected
        assert "Paris" in answers[0][1]
    finally:
        engine.stop()


def test_the_server_answers_through_the_openai_client(smol_server: Any) -> None:
    client = openai.OpenAI(base_url=f"{smol_server.url}/v1", api_key="x", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["smollm2"]
    stream = client.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=24,
        temperature=0,
        stream=True,
    )
    answer = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "Paris" in answer
