"""Fixtures: a writable copy of the shipped terraform/ (``terraform`` and ``checkov`` come from
the shared pytest plugin)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cloudinfra.paths import terraform_dir


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A writable copy of terraform/."""
    shutil.copytree(terraform_dir(), tmp_path / "terraform")
    return tmp_path / "terraform"
