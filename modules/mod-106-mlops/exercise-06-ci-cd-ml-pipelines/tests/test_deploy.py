"""Deployment against real model servers (subprocesses), a real router and real /metrics:
bad versions are rolled back, the good one keeps serving, no client request fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from mlcicd import deploy, faults, registry
from mlcicd.config import Settings
from mlcicd.deploy import Router, Snapshot, Thresholds, parse_steps, window
from mlcicd.errors import MlcicdError

FAST = Thresholds(min_window_s=1.0, min_requests=15)


def _register_fault(settings: Settings, fitted: Any, fault: str) -> str:
    return registry.register_model(
        settings, faults.plant(fitted.model, fault), metrics={}, tags={"fault": fault}
    )


def _assert_rolled_back(result: Any, settings: Settings, production: str) -> None:
    assert not result.promoted, result.reason
    assert result.reason.startswith("rolled back")
    assert registry.alias_version(settings, registry.PRODUCTION) == production
    assert result.production == production
    assert result.traffic.sent > 0
    assert result.traffic.failed == 0, result.traffic.errors
    assert set(result.traffic.by_version) <= {production, result.version}
    note = {v["version"]: v["note"] for v in registry.versions(settings)}[result.version]
    assert note, "the rollback reason is recorded on the version"


@pytest.mark.integration
def test_a_flaky_version_is_rolled_back_and_no_client_request_fails(
    production: Settings, fitted: Any
) -> None:
    current = registry.alias_version(production, registry.PRODUCTION)
    assert current is not None
    bad = _register_fault(production, fitted, "flaky")
    result = deploy.rollout(production, version=bad, clients=8, thresholds=FAST)
    _assert_rolled_back(result, production, current)
    # caught by the health gate's smoke calls, or else by the error rate on /metrics
    assert "500" in result.reason or "error rate" in result.reason
    for step in result.steps:
        assert step.canary.error_rate > FAST.max_error_rate


@pytest.mark.integration
def test_a_slow_version_is_rolled_back_on_its_p95(production: Settings, fitted: Any) -> None:
    current = registry.alias_version(production, registry.PRODUCTION)
    assert current is not None
    bad = _register_fault(production, fitted, "slow")
    result = deploy.rollout(production, version=bad, clients=8, thresholds=FAST)
    _assert_rolled_back(result, production, current)
    assert "p95" in result.reason
    assert len(result.steps) == 1, "caught at the first canary step"
    assert result.steps[0].canary.p95_ms is not None
    assert result.steps[0].canary.p95_ms >= 450


@pytest.mark.integration
def test_a_version_whose_files_do_not_load_never_gets_traffic(
    production: Settings, fitted: Any
) -> None:
    current = registry.alias_version(production, registry.PRODUCTION)
    assert current is not None
    broken = registry.register_model(production, fitted.model, metrics={}, tags={})
    client = registry.client(production)
    source = client.get_model_version(production.model_name, broken).source
    folder = Path(urlparse(client.get_logged_model(source.removeprefix("models:/"))
                           .artifact_location).path)  # fmt: skip
    files = [p for p in folder.rglob("model.*") if p.is_file()]
    assert files
    for path in files:
        path.write_bytes(b"\x00 not a model \xff" * 8)
    with pytest.raises(MlcicdError, match="failed to load"):
        registry.load(production, version=broken)
    result = deploy.rollout(production, version=broken, clients=4, thresholds=FAST)
    _assert_rolled_back(result, production, current)
    assert "health gate" in result.reason
    assert "did not start" in result.reason
    assert result.steps == []
    assert set(result.traffic.by_version) == {current}


def test_deploying_what_is_already_in_production_is_refused(production: Settings) -> None:
    current = registry.alias_version(production, registry.PRODUCTION)
    with pytest.raises(MlcicdError, match="already in production"):
        deploy.rollout(production, version=current, clients=0)


@pytest.mark.parametrize("text", ["", "50", "10,5,100", "0,100", "10,abc,100", "10,100,200"])
def test_bad_canary_steps_are_refused(text: str) -> None:
    with pytest.raises(MlcicdError, match="steps"):
        parse_steps(text)


def test_window_math_on_known_counters() -> None:
    before = Snapshot(requests=100, errors=1, buckets={0.01: 90, 0.1: 99, float("inf"): 100})
    after = Snapshot(requests=200, errors=6, buckets={0.01: 180, 0.1: 196, float("inf"): 200})
    w = window(before, after)
    assert w.requests == 100
    assert w.error_rate == pytest.approx(0.05)
    assert w.p95_ms == pytest.approx(100.0)  # 90 of 100 under 10 ms, 97 under 100 ms
    assert window(after, after).p95_ms is None


@pytest.mark.integration
def test_the_router_retries_a_dead_canary_on_stable(
    asgi_server: Any, fitted: Any, production: Settings
) -> None:
    from mlcicd.server import create_app

    stable = asgi_server(create_app(registry.load(production, alias=registry.PRODUCTION)))
    router = Router(stable.url)
    url = router.start()
    try:
        from aiinfra_shared.services.base import free_port

        router.set_canary(f"http://127.0.0.1:{free_port()}", 1.0)  # nothing listens there
        rows = deploy.sample_rows(3)
        for _ in range(5):
            answer = httpx.post(f"{url}/predict", json={"rows": rows}, timeout=10)
            assert answer.status_code == 200
            assert len(answer.json()["probabilities"]) == 3
        metrics = httpx.get(f"{url}/metrics").text
        assert "mlcicd_router_canary_retries_total 5.0" in metrics
        assert httpx.post(f"{url}/predict", json={"rows": []}).status_code == 422
    finally:
        router.stop()


@pytest.mark.integration
def test_sigterm_mid_rollout_stops_every_server_and_changes_nothing(
    production: Settings, fitted: Any
) -> None:
    import signal
    import subprocess
    import sys
    import time

    current = registry.alias_version(production, registry.PRODUCTION)
    candidate = registry.register_model(production, fitted.model, metrics={}, tags={})
    process = subprocess.Popen(
        [sys.executable, "-m", "mlcicd", "deploy", "--registry", str(production.registry),
         "--version", candidate, "--clients", "4", "--steps", "1,2,100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        servers: list[str] = []
        deadline = time.monotonic() + 60
        while len(servers) < 2:  # production and candidate are up: the rollout is under way
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the servers did not start"
            time.sleep(0.3)
            servers = _servers(production)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert _servers(production) == [], "every model server was stopped"
    assert registry.alias_version(production, registry.PRODUCTION) == current


def _servers(settings: Settings) -> list[str]:
    """PIDs of `mlcicd serve` processes on this registry (read from /proc)."""
    wanted = ["serve", "--registry", str(settings.registry.resolve())]
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "mlcicd" in argv and all(w in argv for w in wanted):
            found.append(cmdline.parent.name)
    return found
