"""Build a tiny Llama-style model from nothing, in seconds, with no model hub (extra ``tinylm``).

1. A byte-level BPE tokenizer is trained on the corpus with the ``tokenizers`` library and
   wrapped as a ``PreTrainedTokenizerFast`` with a chat template.
2. A ``LlamaForCausalLM`` is built from a ``LlamaConfig`` (2 layers, hidden size 128, grouped
   query attention: the same architecture family as Llama 3 and SmolLM2, only small).
3. It is trained for a few hundred steps of next-token prediction on random windows of the
   corpus, until it writes corpus-like sentences.
4. Model, tokenizer and a ``tinylm.json`` record (losses, steps, corpus hash) are
   saved as an ordinary local model folder: anything that loads a Hugging Face folder loads it.

Everything is seeded: the same corpus and settings give the same weights. :func:`ensure_tiny`
builds the default model once into a cache folder, atomically; 110-01 (llmserve) serves it and
202 (servplat) puts it behind its gateway. Its tests live with llmserve, its first user.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiinfra_shared.errors import AiinfraError

logger = logging.getLogger(__name__)

#: Special tokens: document separator, chat roles, end of a turn, padding.
SPECIAL_TOKENS = ("<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|pad|>")
#: The chat format the corpus's chats use; ``add_generation_prompt`` opens the assistant turn.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
RECORD = "tinylm.json"

#: ``progress(step, steps, loss)`` while the model trains.
Progress = Callable[[int, int, float], None]


class TinyModelError(AiinfraError):
    """The corpus cannot be trained on."""


@dataclass(frozen=True)
class TinySpec:
    """Size and training budget of the tiny model (defaults: ~0.5M parameters, ~10 s)."""

    vocab_size: int = 512
    hidden_size: int = 128
    intermediate_size: int = 384
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    max_positions: int = 512
    steps: int = 300
    batch_size: int = 16
    seq_len: int = 96
    learning_rate: float = 3e-3
    seed: int = 0


@dataclass(frozen=True)
class BuildRecord:
    """What :func:`build` did (saved as ``tinylm.json``)."""

    corpus_sha256: str
    parameters: int
    steps: int
    initial_loss: float
    final_loss: float
    seconds: float
    spec: dict[str, object]


def train_tokenizer(text: str, vocab_size: int) -> Any:
    """A byte-level BPE tokenizer trained on ``text``, as a ``PreTrainedTokenizerFast``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: nothing is unknown
        show_progress=False,
    )
    raw.train_from_iterator(text.splitlines(keepends=True), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|end|>",  # noqa: S106 - special tokens, not passwords
        pad_token="<|pad|>",  # noqa: S106
        bos_token="<|endoftext|>",  # noqa: S106
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build(
    dest: Path,
    text: str,
    spec: TinySpec | None = None,
    progress: Progress | None = None,
) -> BuildRecord:
    """Train a tokenizer and a tiny Llama on ``text`` and save both in ``dest``.

    Args:
        dest: The model folder to write (created; files in it are replaced).
        text: Training text (UTF-8).
        spec: Size and budget.
        progress: ``progress(step, steps, loss)``, called every few steps.

    Raises:
        TinyModelError: The text is too short to train on.
    """
    import torch
    import transformers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    transformers.logging.disable_progress_bar()  # no "Writing model shards" bar

    spec = spec or TinySpec()
    started = time.perf_counter()
    torch.manual_seed(spec.seed)
    tokenizer = train_tokenizer(text, spec.vocab_size)
    ids = torch.tensor(tokenizer(text)["input_ids"], dtype=torch.long)
    if len(ids) < spec.seq_len * 4:
        raise TinyModelError(
            f"the corpus has {len(ids)} tokens; at least {spec.seq_len * 4} are needed"
        )
    end_id = tokenizer.convert_tokens_to_ids("<|end|>")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        max_position_embeddings=spec.max_positions,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=end_id,
        pad_token_id=tokenizer.convert_tokens_to_ids("<|pad|>"),
    )
    model = LlamaForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=0.01)
    warmup = max(1, spec.steps // 10)

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to a tenth
        if step < warmup:
            return (step + 1) / warmup
        done = (step - warmup) / max(1, spec.steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    generator = torch.Generator().manual_seed(spec.seed)
    losses: list[float] = []
    model.train()
    for step in range(spec.steps):
        starts = torch.randint(
            0, len(ids) - spec.seq_len - 1, (spec.batch_size,), generator=generator
        )
        batch = torch.stack([ids[s : s + spec.seq_len] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if progress and (step % 10 == 0 or step == spec.steps - 1):
            progress(step + 1, spec.steps, losses[-1])
    model.eval()

    dest.mkdir(parents=True, exist_ok=True)
    model.generation_config = GenerationConfig(
        eos_token_id=[end_id], pad_token_id=config.pad_token_id, bos_token_id=config.bos_token_id
    )
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    tail = losses[-10:]
    record = BuildRecord(
        corpus_sha256=hashlib.sha256(text.encode()).hexdigest(),
        parameters=sum(p.numel() for p in model.parameters()),
        steps=spec.steps,
        initial_loss=round(losses[0], 4),
        final_loss=round(sum(tail) / len(tail), 4),
        seconds=round(time.perf_counter() - started, 2),
        spec=asdict(spec),
    )
    (dest / RECORD).write_text(json.dumps(asdict(record), indent=2) + "\n")
    logger.debug(
        "trained: loss %.2f -> %.2f in %.1f s",
        record.initial_loss,
        record.final_loss,
        record.seconds,
    )
    return record


def read_record(model_dir: Path) -> BuildRecord | None:
    """The build record of a tiny model folder, or None for any other model."""
    path = model_dir / RECORD
    if not path.is_file():
        return None
    return BuildRecord(**json.loads(path.read_text()))


def is_current(folder: Path, text: str, spec: TinySpec) -> bool:
    """Whether ``folder`` holds a finished build of ``text`` with ``spec``."""
    record = read_record(folder)
    return (
        record is not None
        and record.corpus_sha256 == hashlib.sha256(text.encode()).hexdigest()
        and record.spec == asdict(spec)
    )


def ensure_tiny(
    cache_dir: Path, progress: Progress | None = None, spec: TinySpec | None = None
) -> Path:
    """``cache_dir/tiny``: the default tiny model, built (about 10 s) unless a build of the
    same corpus and spec is already there (an older one, from before an upgrade, is replaced).

    The build goes to a temporary folder that is renamed into place, so an interrupted build
    is never used and two processes building at once end with the same complete folder.
    """
    from aiinfra_shared.tinylm.corpus import corpus_text

    spec = spec or TinySpec()
    text = corpus_text()
    target = cache_dir / "tiny"
    if is_current(target, text, spec):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=cache_dir))
    try:
        build(staging, text, spec, progress)
        if target.exists() and not is_current(target, text, spec):
            old = Path(tempfile.mkdtemp(prefix=".tiny-old-", dir=cache_dir)) / "tiny"
            target.rename(old)  # stale or unfinished: out of the way in one step
            shutil.rmtree(old.parent, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not is_current(target, text, spec):  # not another process's finished build
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
