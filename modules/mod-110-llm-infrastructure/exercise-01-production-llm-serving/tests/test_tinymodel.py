"""The tiny model (aiinfra_shared.tinylm, tested here with its first user): built from nothing,
it learns the corpus and is an ordinary Hugging Face folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from llmserve.errors import ModelError
from llmserve.models import resolve
from transformers import AutoModelForCausalLM, AutoTokenizer

from aiinfra_shared.tinylm import RECORD, TinyModelError, TinySpec, build, ensure_tiny, read_record
from aiinfra_shared.tinylm.corpus import FACTS, corpus_text


@pytest.fixture(scope="module")
def loaded(tiny: Path) -> tuple[object, object]:
    return AutoTokenizer.from_pretrained(tiny), AutoModelForCausalLM.from_pretrained(tiny)


def test_training_learns_the_corpus(tiny: Path) -> None:
    record = read_record(tiny)
    assert record is not None
    assert 300_000 < record.parameters < 1_000_000
    assert record.steps == TinySpec().steps
    # Uniform guessing over 512 tokens is ln(512) = 6.2; the corpus is very regular.
    assert record.initial_loss > 5.5
    assert record.final_loss < record.initial_loss / 4


def test_the_tokenizer_is_byte_level(loaded: tuple[object, object]) -> None:
    tokenizer, _ = loaded
    text = "Naïve café ünïcode 🚀 and words it never saw: zyxwvut"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    assert tokenizer.decode(ids) == text  # type: ignore[attr-defined]
    assert tokenizer.unk_token_id is None  # type: ignore[attr-defined]


def test_the_chat_template_opens_the_assistant_turn(loaded: tuple[object, object]) -> None:
    tokenizer, _ = loaded
    prompt = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        add_generation_prompt=True,
        tokenize=False,
    )
    assert prompt == "<|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>"


def test_it_writes_corpus_like_text(loaded: tuple[object, object]) -> None:
    tokenizer, model = loaded
    vocabulary = set(re.findall(r"[a-z]+", corpus_text().lower()))
    ids = tokenizer("The gateway", return_tensors="pt")  # type: ignore[operator]
    out = model.generate(**ids, max_new_tokens=40, do_sample=False)  # type: ignore[attr-defined]
    text = tokenizer.decode(out[0], skip_special_tokens=True)  # type: ignore[attr-defined]
    words = re.findall(r"[a-z]+", text.lower())
    assert len(words) >= 10
    assert set(words) <= vocabulary, set(words) - vocabulary


def test_it_answers_a_chat_in_the_corpus_style(loaded: tuple[object, object]) -> None:
    tokenizer, model = loaded
    question, answer = FACTS[4]  # "What is a KV cache?"
    ids = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        [{"role": "user", "content": question}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**ids, max_new_tokens=60, do_sample=False)  # type: ignore[attr-defined]
    reply = tokenizer.decode(out[0][ids["input_ids"].shape[1] :], skip_special_tokens=True)  # type: ignore[attr-defined]
    assert reply.strip() == answer


def test_the_same_corpus_and_seed_give_the_same_weights(tmp_path: Path) -> None:
    spec = TinySpec(steps=3, hidden_size=32, intermediate_size=64)
    text = corpus_text(400, 50)
    build(tmp_path / "a", text, spec)
    build(tmp_path / "b", text, spec)
    a = AutoModelForCausalLM.from_pretrained(tmp_path / "a").state_dict()
    b = AutoModelForCausalLM.from_pretrained(tmp_path / "b").state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_corpus_too_short_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TinyModelError, match="tokens; at least"):
        build(tmp_path / "m", "too short\n" * 5, TinySpec(steps=1))
    assert not (tmp_path / "m" / RECORD).exists()


def test_a_finished_build_is_reused_and_paths_are_checked(
    tiny: Path, model_cache: Path, tmp_path: Path
) -> None:
    record = model_cache / "tiny" / RECORD
    before = record.stat().st_mtime_ns
    assert ensure_tiny(model_cache) == model_cache / "tiny"
    assert record.stat().st_mtime_ns == before
    assert resolve("tiny", model_cache) == (model_cache / "tiny", "tiny")
    assert resolve(str(model_cache / "tiny"), model_cache)[1] == "tiny"
    with pytest.raises(ModelError, match="not 'tiny', 'smollm2' or a model folder"):
        resolve(str(tmp_path), model_cache)


def test_a_cached_build_of_another_spec_is_replaced(tmp_path: Path) -> None:
    old = TinySpec(steps=2, hidden_size=32, intermediate_size=64)
    new = TinySpec(steps=3, hidden_size=32, intermediate_size=64)
    folder = ensure_tiny(tmp_path, spec=old)
    assert read_record(folder).steps == 2  # type: ignore[union-attr]
    assert ensure_tiny(tmp_path, spec=old) == folder  # the same spec: reused
    assert ensure_tiny(tmp_path, spec=new) == folder
    assert read_record(folder).steps == 3  # type: ignore[union-attr]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]  # nothing left aside
