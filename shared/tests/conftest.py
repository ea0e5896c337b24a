from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The sandbox runs without the root config: keep kmock's plugin (it needs pytest-asyncio,
    which is not installed) out of it, as the root ``addopts`` does for the real runs."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:kmock")
    return pytester
