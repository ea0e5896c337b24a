"""A tiny Llama-style language model built here, in seconds, with no model hub (extra ``tinylm``).

``ensure_tiny(cache_dir)`` trains a byte-level BPE tokenizer and a 2-layer ``LlamaForCausalLM``
on a generated corpus of infrastructure sentences and chats (:mod:`.corpus`) and saves an
ordinary Hugging Face folder with a chat template; :func:`build` does the same for any text.
Fast and deterministic: what tests, demos and benchmarks of LLM serving need.
"""

from __future__ import annotations

from aiinfra_shared.tinylm.build import (
    CHAT_TEMPLATE,
    RECORD,
    BuildRecord,
    Progress,
    TinyModelError,
    TinySpec,
    build,
    ensure_tiny,
    is_current,
    read_record,
    train_tokenizer,
)

__all__ = [
    "CHAT_TEMPLATE",
    "RECORD",
    "BuildRecord",
    "Progress",
    "TinyModelError",
    "TinySpec",
    "build",
    "ensure_tiny",
    "is_current",
    "read_record",
    "train_tokenizer",
]
