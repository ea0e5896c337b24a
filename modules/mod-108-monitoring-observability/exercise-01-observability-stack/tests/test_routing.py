"""Alertmanager routing, checked by Alertmanager's own amtool."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from obsstack import routing

from aiinfra_shared.services.base import find_binary
from aiinfra_shared.services.prometheus import INSTALL_HINT


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("am") / "alertmanager.yml"
    path.write_text(json.dumps(routing.build("http://127.0.0.1:1/webhooks")))
    return path


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_binary("amtool", INSTALL_HINT), *args], capture_output=True, text=True, check=False
    )


def test_amtool_accepts_the_config(config_file: Path) -> None:
    done = amtool("check-config", str(config_file))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=page", "team=ml"], "pager,ml-team"),
        (["severity=ticket", "team=ml"], "ml-team"),
        (["severity=page", "team=platform"], "pager,platform"),
        (["severity=ticket", "team=platform"], "platform"),
        (["severity=info", "team=data"], "default"),
    ],
)
def test_routes(config_file: Path, labels: list[str], receivers: str) -> None:
    done = amtool("config", "routes", "test", f"--config.file={config_file}", *labels)
    assert done.stdout.strip() == receivers, done.stdout + done.stderr


def test_production_timing_differs_from_demo_timing() -> None:
    prod, fast = routing.build("http://x"), routing.build("http://x", fast=True)
    assert prod["route"]["group_wait"] == "30s"
    assert fast["route"]["group_wait"] == "0s"
    assert all(c["send_resolved"] for r in prod["receivers"] for c in r["webhook_configs"])
