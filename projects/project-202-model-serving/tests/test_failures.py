"""Backends that fail for real: too slow, killed."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from servplat.demo import metric, traffic
from servplat.platform import Platform, run_platform
from servplat.routing import PlatformConfig

pytestmark = pytest.mark.integration

APPLICANT = [55.0, 0.7, 40.0, 3.0, 2.0]


@pytest.fixture(scope="module")
def failing(cache_dir: Path) -> Iterator[Platform]:
    """Two healthy scorers (fast breakers) and a scorer slower than its timeout."""
    breaker = {"failure_threshold": 2, "reset_timeout": 1.0}
    config = PlatformConfig.model_validate(
        {
            "seed": 3,
            "backends": {
                "a": {"kind": "classic", "launch": {"version": "v1"}, "breaker": breaker},
                "b": {"kind": "classic", "launch": {"version": "v2"}, "breaker": breaker},
                "slow": {
                    "kind": "classic",
                    "launch": {"version": "v2", "delay_ms": "800"},
                    "timeout": 0.2,
                    "breaker": {"failure_threshold": 2, "reset_timeout": 300},
                },
            },
            "routes": [
                {"model": "ab", "variants": {"a": 50, "b": 50}, "sticky": False},
                {"model": "mixed", "variants": {"a": 50, "slow": 50}, "sticky": False},
                {"model": "slow-only", "variants": {"slow": 1}},
            ],
        }
    )
    env = {"SERVPLAT_CACHE_DIR": str(cache_dir)}
    with run_platform(config, env=env, admin_key="failures-key") as platform:
        yield platform


def _breaker(platform: Platform, backend: str) -> str:
    routes = httpx.get(f"{platform.gateway.url}/admin/routes", headers=platform.admin_headers())
    for route in routes.json():
        if backend in route["breakers"]:
            return str(route["breakers"][backend])
    raise AssertionError(backend)


def _eventually(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_slow_variant_times_out_fails_over_and_is_cut_off(failing: Platform) -> None:
    url = failing.gateway.url
    results = asyncio.run(traffic(url, [f"m-{i}" for i in range(40)], model="mixed", concurrency=4))
    assert {r["status"] for r in results} == {200}  # nobody saw the timeouts
    assert {r["variant"] for r in results} == {"a"}  # the slow one never answered in time
    assert any(r["fallback"] for r in results)
    assert _breaker(failing, "slow") == "open"  # two timeouts opened it
    text = httpx.get(f"{url}/metrics").text
    assert metric(text, "servplat_fallbacks_total", route="mixed") >= 2


def test_a_route_with_no_healthy_variant_answers_503_and_is_reported(failing: Platform) -> None:
    url = failing.gateway.url
    body = {"model": "slow-only", "features": APPLICANT}
    if _breaker(failing, "slow") != "open":  # on its own, the first calls time out: 504
        first = httpx.post(f"{url}/v1/predict", json=body, timeout=10)
        assert first.status_code == 504
        assert first.json()["error"]["code"] == "timeout"
        httpx.post(f"{url}/v1/predict", json=body, timeout=10)
    refused = httpx.post(f"{url}/v1/predict", json=body, timeout=10)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "circuit_open"
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200  # the other routes still work: stay in the Service
    assert ready.json() == {"status": "degraded", "routes_down": ["slow-only"]}


def test_a_killed_backend_fails_over_then_recovers(failing: Platform) -> None:
    url = failing.gateway.url
    failing.stop_backend("b")
    results = asyncio.run(traffic(url, [f"k-{i}" for i in range(40)], model="ab", concurrency=4))
    assert {r["status"] for r in results} == {200}
    assert Counter(r["variant"] for r in results) == {"a": 40}
    assert _breaker(failing, "b") == "open"
    failing.start_backend("b")

    def b_serves_again() -> bool:
        again = asyncio.run(
            traffic(url, [f"r-{time.monotonic()}-{i}" for i in range(10)], model="ab")
        )
        return any(r["variant"] == "b" and not r["fallback"] for r in again)

    assert _eventually(b_serves_again)  # half-open, one good trial, closed
    assert _breaker(failing, "b") == "closed"
    text = httpx.get(f"{url}/metrics").text
    for state in ("open", "half_open", "closed"):
        assert metric(text, "servplat_breaker_transitions_total", backend="b", state=state) >= 1
