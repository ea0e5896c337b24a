"""The generation routes: ``/v1/completions`` and ``/v1/chat/completions``.

Each route admits the request (key, rate, model), checks lengths, queues it in the engine,
then either collects the whole answer or relays it as server-sent events.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from llmserve.api.errors import GENERATION_RESPONSES, ApiError
from llmserve.api.state import ApiState, get_state
from llmserve.api.streaming import collect, sse
from llmserve.errors import EngineError
from llmserve.schemas import ChatCompletionRequest, CompletionRequest, Ids, usage_body

#: OpenAI's default ``max_tokens`` for the legacy completions route.
COMPLETIONS_DEFAULT_MAX_TOKENS = 16

router = APIRouter()
State = Annotated[ApiState, Depends(get_state)]


@router.post("/v1/completions", response_model=None, responses=GENERATION_RESPONSES)
async def completions(body: CompletionRequest, request: Request, state: State) -> Any:
    """Continue a prompt (OpenAI's legacy completions)."""
    engine = state.engine
    state.admit(request, body.model)
    prompt_ids = engine.encode_prompt(body.text)
    max_tokens = state.limits(prompt_ids, body.max_tokens, COMPLETIONS_DEFAULT_MAX_TOKENS, "prompt")
    stream = state.open_stream(prompt_ids, body.sampling(max_tokens))
    ids = Ids("cmpl")

    def chunk(text: str, finish: str | None) -> dict[str, Any]:
        return {
            "id": ids.id,
            "object": "text_completion",
            "created": ids.created,
            "model": engine.name,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
        }

    if body.stream:
        return sse(
            state,
            stream,
            lambda d: chunk(d.text, None),
            lambda d: chunk("", d.finish_reason),
            ids,
            body.include_usage,
            "text_completion",
        )
    text, last = await collect(state, stream, request)
    return {
        **chunk(text, last.finish_reason),
        "usage": usage_body(last.usage, state.settings.cost_per_hour),
    }


@router.post("/v1/chat/completions", response_model=None, responses=GENERATION_RESPONSES)
async def chat_completions(body: ChatCompletionRequest, request: Request, state: State) -> Any:
    """Answer a conversation."""
    engine, settings = state.engine, state.settings
    state.admit(request, body.model)
    messages = [m.model_dump() for m in body.messages]
    try:
        prompt_ids = engine.encode_chat(messages)
    except EngineError as exc:
        raise ApiError(400, str(exc), param="messages") from None
    max_tokens = state.limits(
        prompt_ids, body.requested_max_tokens, settings.default_max_tokens, "messages"
    )
    stream = state.open_stream(prompt_ids, body.sampling(max_tokens))
    ids = Ids("chatcmpl")

    def chunk(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
        return {
            "id": ids.id,
            "object": "chat.completion.chunk",
            "created": ids.created,
            "model": engine.name,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    if body.stream:
        first = chunk({"role": "assistant", "content": ""}, None)
        return sse(
            state,
            stream,
            lambda d: chunk({"content": d.text}, None),
            lambda d: chunk({}, d.finish_reason),
            ids,
            body.include_usage,
            "chat.completion.chunk",
            first=first,
        )
    text, last = await collect(state, stream, request)
    return {
        "id": ids.id,
        "object": "chat.completion",
        "created": ids.created,
        "model": engine.name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": last.finish_reason,
            }
        ],
        "usage": usage_body(last.usage, settings.cost_per_hour),
    }
