"""The vLLM engine on a GPU (``gpu`` marker: skipped with the reason where CUDA is absent).

vLLM is installed separately on GPU hosts (it pins a CUDA torch); without it these tests
skip and say so. They serve the tiny model built in this session: vLLM loads any Llama folder.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from llmserve.engine import SamplingParams
from llmserve.engine.vllm import VLLMEngine, vllm_available
from llmserve.server import server_process

from aiinfra_shared.services import RunningService
from aiinfra_shared.tinylm.corpus import corpus_text

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not vllm_available(), reason="vLLM is not installed (GPU hosts: `uv pip install vllm`)"
    ),
]

VOCABULARY = set(re.findall(r"[a-z]+", corpus_text().lower()))


@pytest.fixture(scope="module")
def vllm_server(tiny: Path, model_cache: Path) -> Iterator[RunningService]:
    env = {
        "LLMSERVE_ENGINE": "vllm",
        "LLMSERVE_MODEL": str(tiny),
        "LLMSERVE_GPU_MEMORY_UTILIZATION": "0.3",
    }
    with server_process(env, timeout=600) as service:
        yield service


def test_vllm_streams_corpus_text_from_the_tiny_model(tiny: Path) -> None:
    engine = VLLMEngine(str(tiny), name="tiny", gpu_memory_utilization=0.3)
    engine.start()

    async def main() -> tuple[str, str | None]:
        text = ""
        stream = engine.open(
            engine.encode_prompt("The scheduler"),
            SamplingParams(max_tokens=32, temperature=0, ignore_eos=True),
        )
        async for delta in stream:
            text += delta.text
        return text, delta.finish_reason

    try:
        text, reason = asyncio.run(main())
    finally:
        engine.stop()
    assert reason == "length"
    words = re.findall(r"[a-z]+", text.lower())
    assert len(words) >= 8
    assert set(words) <= VOCABULARY


def test_the_api_over_vllm_speaks_openai(vllm_server: RunningService) -> None:
    client = openai.OpenAI(base_url=f"{vllm_server.url}/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": "What does the gateway do?"}],
        max_tokens=24,
        temperature=0,
        stream=True,
    )
    answer = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "gateway" in answer.lower()
