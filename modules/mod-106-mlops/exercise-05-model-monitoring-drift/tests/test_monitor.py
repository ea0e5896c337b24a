"""Windows in, verdicts and metrics out: a real Prometheus scrapes what the monitor exports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from driftwatch import data
from driftwatch.demo import RetrainReceiver
from driftwatch.exporter import DriftMetrics
from driftwatch.monitor import Monitor, Window, folder_stream, scenario_stream
from driftwatch.policy import RetrainPolicy, RetrainTrigger, WebhookHook

from aiinfra_shared.services import prometheus as prom

pytestmark = pytest.mark.integration


def test_stream_delivers_each_windows_labels_late() -> None:
    windows = list(scenario_stream(["none", "none", "none"], rows=100, seed=1, label_share=0.5))
    assert windows[0].labels is None
    assert set(windows[1].labels["prediction_id"]) <= set(windows[0].features["prediction_id"])
    assert len(windows[1].labels) == 50
    assert data.TARGET not in windows[0].features.columns


def test_monitor_exports_to_prometheus_and_requests_a_retrain(
    reference: pd.DataFrame,
    scraped: tuple[DriftMetrics, str],
    receiver: RetrainReceiver,
    tmp_path: Path,
) -> None:
    metrics, url = scraped
    monitor = Monitor(
        reference,
        policy=RetrainPolicy(consecutive_windows=2, cooldown_windows=5),
        trigger=RetrainTrigger(tmp_path / "outbox.jsonl", [WebhookHook(receiver.url)]),
        metrics=metrics,
    )
    plan = ["none", "severe", "severe", "severe"]
    results = [monitor.process(w) for w in scenario_stream(plan, rows=500, seed=3)]

    assert [r.drift.dataset_drift for r in results] == [False, True, True, True]
    assert [r.request is not None for r in results] == [False, False, True, False]
    assert results[3].cooldown
    # The severe windows' labels came from a changed concept: accuracy from late labels fell.
    assert results[0].performance.accuracy is None
    assert results[3].performance.accuracy < monitor.baseline_accuracy - 0.03
    assert [r["window"] for r in receiver.received] == [2]

    # Wait for the scrape that saw the last window, then read what Prometheus holds. Each
    # query reads the latest sample of the last minute (last_over_time): on a loaded machine
    # one scrape can time out, and Prometheus then marks the target's series stale at once.
    def latest(expr: str) -> str:
        return f"last_over_time({expr}[1m])"

    prom.wait_for(
        url,
        f"sum({latest('driftwatch_windows_analyzed_total')})",
        lambda s: bool(s) and s[0].value == 4,
    )
    drifted = prom.query(url, f"{latest('driftwatch_feature_drifted')} == 1")
    assert {s.labels["feature"] for s in drifted} >= {"income", "credit_score", "debt_ratio"}
    assert prom.query(url, latest("driftwatch_dataset_drift"))[0].value == 1
    assert prom.query(url, latest("driftwatch_retrain_requests_total"))[0].value == 1
    windows = prom.query(url, f"sum by (drift) ({latest('driftwatch_windows_analyzed_total')})")
    assert {s.labels["drift"]: s.value for s in windows} == {"false": 1, "true": 3}
    scores = prom.query(url, latest("driftwatch_feature_drift_score"))
    assert {s.labels["feature"] for s in scores} == set(data.FEATURES)
    assert all(s.labels["method"] for s in scores)
    accuracy = prom.query(url, latest("driftwatch_model_accuracy"))[0].value
    assert accuracy == pytest.approx(results[3].performance.accuracy)


def test_folder_stream_reads_windows_and_label_files(
    reference: pd.DataFrame, tmp_path: Path
) -> None:
    batch = data.generate(300, seed=5)
    batch.insert(0, "prediction_id", [f"b1-{i}" for i in range(300)])
    batch.drop(columns=[data.TARGET]).to_csv(tmp_path / "001-batch.csv", index=False)
    batch[["prediction_id", data.TARGET]].to_csv(tmp_path / "002-batch.labels.csv", index=False)
    items = list(folder_stream(tmp_path))
    assert isinstance(items[0], Window)
    assert isinstance(items[1], pd.DataFrame)

    monitor = Monitor(
        reference,
        policy=RetrainPolicy(),
        trigger=RetrainTrigger(tmp_path / "out" / "outbox.jsonl"),
        report_dir=tmp_path / "out",
    )
    result = monitor.process(items[0])
    assert monitor.add_labels(items[1]) == 300
    assert monitor.log.performance([0]).coverage == 1.0
    assert (tmp_path / "out" / "001-batch.html").is_file()
    assert result.drift.dataset_drift is False
