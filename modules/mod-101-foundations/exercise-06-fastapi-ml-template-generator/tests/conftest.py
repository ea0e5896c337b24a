"""Fixtures: a copy of the shipped templates a test may change (a newer template version)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mltemplate.generator import TEMPLATES


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A private copy of the template collection."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root
