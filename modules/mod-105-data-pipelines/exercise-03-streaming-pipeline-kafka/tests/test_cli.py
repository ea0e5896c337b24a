from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from featstream.config import FeatstreamSettings
from featstream.sink import Sink, open_sink

from aiinfra_shared.services import RunningService


def featstream(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "featstream", *args],
        capture_output=True, text=True, timeout=timeout,
        env=os.environ | {"PYTHONDONTWRITEBYTECODE": "", "COLUMNS": "120"} | (env or {}),
    )  # fmt: skip


def test_schema_prints_the_contract() -> None:
    result = featstream("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["version"] == 1
    assert [f["name"] for f in schema["fields"]][:3] == ["schema_version", "event_id", "user_id"]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["process", "--bootstrap", "127.0.0.1:1"], {}, "no Kafka broker at 127.0.0.1:1"),
        (["replay", "--sink-url", "ftp://x"], {}, "unsupported sink URL"),
        (["topics"], {"FEATSTREAM_SLIDING_STEP_S": "70"}, "must divide"),
    ],
)
def test_user_mistakes_are_one_line_errors(
    args: list[str], env: dict[str, str], message: str
) -> None:
    result = featstream(*args, env=env)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_compare_exits_nonzero_on_a_difference(sink: Sink, tmp_path: Path) -> None:
    other = open_sink(f"sqlite:///{tmp_path / 'other.db'}")
    same = featstream("compare", sink.url, other.url)
    assert same.returncode == 0, same.stdout
    assert "identical" in same.stdout
    with other.transaction() as cur:
        cur.execute(
            "INSERT INTO entity_features VALUES ('u1', 0, 1, 1, 0, 0, 0, 0, '[]', 1, 1, 1, 1)"
        )
    different = featstream("compare", sink.url, other.url)
    assert different.returncode == 1
    assert "entity u1" in different.stdout


def test_compare_of_sinks_that_do_not_exist_creates_nothing(tmp_path: Path) -> None:
    left, right = tmp_path / "a.db", tmp_path / "b.db"
    result = featstream("compare", f"sqlite:///{left}", f"sqlite:///{right}")
    assert result.returncode == 1
    assert f"no sink at {left}" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "identical" not in result.stdout
    assert not left.exists()
    assert not right.exists()


@pytest.mark.integration
def test_produce_then_replay_then_refuse_a_second_replay(
    settings: FeatstreamSettings, tmp_path: Path
) -> None:
    env = {"FEATSTREAM_TOPIC": settings.topic, "FEATSTREAM_DLQ_TOPIC": settings.dlq_topic}
    produced = featstream(
        "produce",
        "-n",
        "300",
        "--malformed",
        "0.1",
        "--bootstrap",
        settings.bootstrap_servers,
        env=env,
    )
    assert produced.returncode == 0, produced.stderr
    assert "sent 300 events" in produced.stdout
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    replayed = featstream(
        "replay", "--sink-url", url, "--bootstrap", settings.bootstrap_servers, env=env
    )
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 300 records" in replayed.stdout
    again = featstream(
        "replay", "--sink-url", url, "--bootstrap", settings.bootstrap_servers, env=env
    )
    assert again.returncode == 1
    assert "fresh sink" in again.stderr


@pytest.mark.integration
def test_demo_runs_end_to_end(kafka_service: RunningService, tmp_path: Path) -> None:
    result = featstream(
        "demo", "--events", "1500", "--workdir", str(tmp_path / "demo"), timeout=300,
        env={"FEATSTREAM_TOPIC": "demo-events", "FEATSTREAM_DLQ_TOPIC": "demo-events.dlq",
             "AIINFRA_KAFKA_BOOTSTRAP": kafka_service.url},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "Replay from offset 0 gives exactly the live features" in out
    assert "featstream run summary" in out
    assert '"entity_id"' in out
    sink = open_sink(f"sqlite:///{tmp_path / 'demo' / 'features.db'}")
    stats = sink.partition_stats("demo-events")
    assert sum(int(r["next_offset"]) for r in stats) == 1500
    assert sum(int(r["duplicate"]) for r in stats) > 0
    assert sink.dead_letters("demo-events")
