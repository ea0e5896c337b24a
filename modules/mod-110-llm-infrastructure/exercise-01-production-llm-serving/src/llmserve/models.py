"""Which model folder to serve: the tiny self-built one, SmolLM2, or any local folder.

The tiny model is built by :mod:`aiinfra_shared.tinylm` (shared with 202, which serves it
behind its gateway): a byte-level BPE tokenizer and a 2-layer Llama trained in seconds.
"""

from __future__ import annotations

from pathlib import Path

from aiinfra_shared.tinylm import BuildRecord, Progress, TinySpec, build, ensure_tiny
from aiinfra_shared.tinylm.corpus import corpus_text
from llmserve.errors import ModelError


def tiny_dir(cache_dir: Path) -> Path:
    """Where the tiny model lives."""
    return cache_dir / "tiny"


def build_model(
    dest: Path,
    corpus: Path | None = None,
    steps: int | None = None,
    progress: Progress | None = None,
) -> BuildRecord:
    """``llmserve build-model``: a tiny model from the shipped corpus or a text file.

    Raises:
        ModelError: The corpus file cannot be read as UTF-8 text.
        TinyModelError: It is too short to train on.
    """
    if corpus is None:
        text = corpus_text()
    else:
        try:
            text = corpus.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"cannot read corpus {corpus}: {exc}") from None
    spec = TinySpec() if steps is None else TinySpec(steps=steps)
    return build(dest, text, spec, progress)


def resolve(model: str, cache_dir: Path, progress: Progress | None = None) -> tuple[Path, str]:
    """The folder to load for ``model`` and the name the API serves it as.

    Raises:
        ModelError: A path that is not a model folder.
        SmolLMNotInstalledError: ``smollm2`` without its extra.
    """
    if model == "tiny":
        return ensure_tiny(cache_dir, progress), "tiny"
    if model == "smollm2":
        from aiinfra_shared.smollm2 import model_dir

        return model_dir(), "smollm2"
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise ModelError(
            f"{model!r} is not 'tiny', 'smollm2' or a model folder (no config.json in it)"
        )
    return path, path.name
