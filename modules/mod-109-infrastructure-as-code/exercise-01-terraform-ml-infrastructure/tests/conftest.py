"""Fixtures: checkov reports built once, a writable tree (``terraform`` and ``checkov`` come
from the shared pytest plugin)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tfml.gate import gate
from tfml.paths import terraform_dir

from aiinfra_shared.iac.checkov import CheckovReport

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def tree_report(checkov: str) -> CheckovReport:
    """checkov over the shipped terraform/ (once per session: it takes 30-60 s)."""
    return gate(terraform_dir())


@pytest.fixture(scope="session")
def insecure_report(checkov: str) -> CheckovReport:
    return gate(FIXTURES / "insecure")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A writable copy of terraform/ and the fixtures, laid out as in the package."""
    shutil.copytree(terraform_dir(), tmp_path / "terraform")
    shutil.copytree(FIXTURES, tmp_path / "tests" / "fixtures")
    return tmp_path / "terraform"
