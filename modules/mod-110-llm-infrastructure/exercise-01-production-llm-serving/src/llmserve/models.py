"""Which model folder to serve: the tiny self-built one, SmolLM2, or any local folder."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from llmserve.errors import ModelError
from llmserve.tinymodel import RECORD, BuildRecord, TinySpec, build

logger = logging.getLogger(__name__)

#: ``progress(step, steps, loss)`` while the tiny model trains.
Progress = Callable[[int, int, float], None]


def tiny_dir(cache_dir: Path) -> Path:
    """Where the tiny model lives."""
    return cache_dir / "tiny"


def ensure_tiny(
    cache_dir: Path, progress: Progress | None = None, spec: TinySpec | None = None
) -> Path:
    """The tiny model folder, built (about 10 s) unless a finished build is there.

    The build goes to a temporary folder that is renamed into place, so an interrupted build
    is never served and two processes building at once end with the same complete folder.
    """
    from llmserve.corpus import corpus_text

    target = tiny_dir(cache_dir)
    if (target / RECORD).is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=cache_dir))
    try:
        build(staging, corpus_text(), spec, progress)
        if target.exists() and not (target / RECORD).is_file():
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            if not (target / RECORD).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_model(
    dest: Path,
    corpus: Path | None = None,
    steps: int | None = None,
    progress: Progress | None = None,
) -> BuildRecord:
    """``llmserve build-model``: a tiny model from the shipped corpus or a text file.

    Raises:
        ModelError: The corpus file cannot be read as UTF-8 text.
    """
    from llmserve.corpus import corpus_text

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
