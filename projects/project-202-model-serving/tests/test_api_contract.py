"""Every HTTP API of the platform against its own OpenAPI, by schemathesis (``--checks all``):
the two kinds of backend and the gateway (admin API included, with its key), each served by
uvicorn in this process on loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from servplat.backends import classic, llm
from servplat.config import DEFAULT_CONFIG
from servplat.gateway import create_app as gateway_app
from servplat.routing import load_config

from aiinfra_shared.testing.apicheck import run_schemathesis

pytestmark = pytest.mark.integration

ADMIN = "contract-admin-key"


def test_the_classic_scorer(asgi_server: Callable[..., Any], tmp_path: Path) -> None:
    served = asgi_server(classic.create_app("v1"))
    junit = run_schemathesis(served.url, tmp_path, max_examples=25)
    assert "POST /v1/predict" in junit


def test_the_llm_backend(asgi_server: Callable[..., Any], cache_dir: Path, tmp_path: Path) -> None:
    served = asgi_server(llm.create_app("tiny", cache_dir))
    junit = run_schemathesis(
        served.url, tmp_path, max_examples=15,
        # The prompt's token count against the context is a rule no JSON Schema states.
        rejections={"POST /v1/chat/completions": ["400"]},
    )  # fmt: skip
    assert "POST /v1/chat/completions" in junit


def test_the_gateway(asgi_server: Callable[..., Any], cache_dir: Path, tmp_path: Path) -> None:
    config = load_config(DEFAULT_CONFIG)
    v1 = asgi_server(classic.create_app("v1"))
    v2 = asgi_server(classic.create_app("v2"))
    chat = asgi_server(llm.create_app("tiny", cache_dir))
    for name, served in (("scorer-v1", v1), ("scorer-v2", v2), ("chat-tiny", chat)):
        config.backends[name].url = served.url
        config.backends[name].launch = None
    gateway = asgi_server(gateway_app(config, admin_key=ADMIN))
    junit = run_schemathesis(
        gateway.url, tmp_path, max_examples=15,
        headers={"Authorization": f"Bearer {ADMIN}"},
        # A route name that does not exist (404) and a prompt longer than the chat model's
        # context (400) are rules of the running config, not of the schema.
        rejections={"POST /v1/predict": ["404"], "POST /v1/chat/completions": ["400", "404"]},
    )  # fmt: skip
    for operation in ("POST /v1/predict", "POST /v1/chat/completions"):
        assert operation in junit, f"{operation} was not exercised"
