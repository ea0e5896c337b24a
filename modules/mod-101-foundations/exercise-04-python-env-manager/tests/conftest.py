"""Fixtures: a private package index on loopback (real wheels, real HTTP) shared by the
session, and a spec writer. No test reaches PyPI."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from envmgr import localindex
from envmgr.manager import Registry
from envmgr.spec import EnvSpec, load_spec

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

SpecWriter = Callable[..., tuple[EnvSpec, Path]]


@pytest.fixture(scope="session")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The simple index URL of wheels built for this session."""
    root = tmp_path_factory.mktemp("index")
    localindex.write_index(root)
    with localindex.serve(root) as url:
        yield url


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ENVMGR_HOME for this test (the registry and the environments)."""
    path = tmp_path / "home"
    monkeypatch.setenv("ENVMGR_HOME", str(path))
    return path


@pytest.fixture
def registry(home: Path) -> Registry:
    return Registry(home)


@pytest.fixture
def write_spec(tmp_path: Path, index_url: str) -> SpecWriter:
    """Write ``envmgr.toml`` in a project folder and load it; keyword args are spec keys."""

    def write(folder: str = "project", **keys: object) -> tuple[EnvSpec, Path]:
        values: dict[str, object] = {"name": "demo", "python": PYTHON, "backend": "uv",
                                     "index_url": index_url,
                                     "dependencies": ["acme-model>=2.0"]}  # fmt: skip
        values.update(keys)
        lines = []
        for key, value in values.items():
            if isinstance(value, dict):
                continue
            rendered = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(
                value, list) else f'"{value}"'  # fmt: skip
            lines.append(f"{key} = {rendered}")
        for key, value in values.items():
            if isinstance(value, dict):
                lines.append(f"\n[{key}]")
                for name, items in value.items():
                    lines.append(f"{name} = [" + ", ".join(f'"{i}"' for i in items) + "]")
        path = tmp_path / folder / "envmgr.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        return load_spec(path), path

    return write
