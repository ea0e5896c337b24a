from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from featstream import kafka_io
from featstream.config import FeatstreamSettings
from featstream.sink import Sink, open_sink

from aiinfra_shared.services import RunningService

# The tests import fs_reference / fs_helpers from this folder (pytest runs in importlib mode).
sys.path.insert(0, str(Path(__file__).parent))

_topics = itertools.count()


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    """A fresh SQLite sink."""
    opened = open_sink(f"sqlite:///{tmp_path / 'features.db'}")
    yield opened
    opened.close()


@pytest.fixture
def settings(kafka_service: RunningService, tmp_path: Path) -> FeatstreamSettings:
    """Settings on the session's broker with a topic (and group) of this test's own."""
    n = next(_topics)
    s = FeatstreamSettings(
        bootstrap_servers=kafka_service.url,
        topic=f"events-{n}",
        dlq_topic=f"events-{n}.dlq",
        group_id=f"processor-{n}",
        sink_url=f"sqlite:///{tmp_path / 'live.db'}",
        max_poll_records=200,
    )
    kafka_io.ensure_topics(s)
    return s
