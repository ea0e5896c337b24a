"""Windows in, verdicts and metrics out: a real Prometheus scrapes what the monitor exports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from driftwatch import data
from driftwatch.demo import RetrainReceiver
from driftwatch.errors import SmallSampleError
from driftwatch.exporter import DriftMetrics
from driftwatch.monitor import FolderState, Monitor, Window, scenario_stream, watch_folder
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


def _batch(folder: Path, name: str, *, rows: int = 300, seed: int = 5, drift: str = "none",
           labels: bool = True) -> None:  # fmt: skip
    batch = data.generate(rows, seed=seed, drift=data.scenario(drift))
    batch.insert(0, "prediction_id", [f"{name}-{i}" for i in range(rows)])
    batch.drop(columns=[data.TARGET]).to_csv(folder / f"{name}.csv", index=False)
    if labels:
        batch[["prediction_id", data.TARGET]].to_csv(folder / f"{name}.labels.csv", index=False)


def _monitor(reference: pd.DataFrame, out: Path, **policy: int) -> Monitor:
    return Monitor(
        reference,
        policy=RetrainPolicy(**policy),
        trigger=RetrainTrigger(out / "outbox.jsonl"),
        report_dir=out / "reports",
    )


def test_watch_folder_reads_windows_and_label_files(
    reference: pd.DataFrame, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _batch(inbox, "001-batch")
    monitor = _monitor(reference, tmp_path / "out")
    state = FolderState(tmp_path / "state.json")
    events = list(watch_folder(monitor, inbox, state))
    assert [(e.kind, e.name) for e in events] == [
        ("window", "001-batch.csv"), ("labels", "001-batch.labels.csv")]  # fmt: skip
    assert events[1].detail == "300 predictions labelled"
    assert monitor.log.performance([0]).coverage == 1.0
    assert (tmp_path / "out" / "reports" / "001-batch.html").is_file()
    assert events[0].result is not None
    assert events[0].result.drift.dataset_drift is False
    assert FolderState.load(tmp_path / "state.json").index == 1


def test_a_rerun_of_the_same_folder_requests_no_retrain_twice(
    reference: pd.DataFrame, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        _batch(inbox, f"{i:03d}-shift", seed=20 + i, drift="covariate", labels=False)
    out = tmp_path / "out"
    state_file = out / "state.json"
    first = list(watch_folder(_monitor(reference, out, consecutive_windows=2),
                              inbox, FolderState.load(state_file)))  # fmt: skip
    requests = [e for e in first if e.result is not None and e.result.request is not None]
    assert len(requests) == 1
    # The same folder again, by a new process: nothing is analysed or requested twice.
    again = list(watch_folder(_monitor(reference, out, consecutive_windows=2),
                              inbox, FolderState.load(state_file)))  # fmt: skip
    assert {e.kind for e in again} == {"skipped"}
    assert len(RetrainTrigger(out / "outbox.jsonl")._read()) == 1
    # A new drifted window right after: the saved cooldown still holds.
    _batch(inbox, "003-shift", seed=30, drift="covariate", labels=False)
    third = list(watch_folder(_monitor(reference, out, consecutive_windows=2),
                              inbox, FolderState.load(state_file)))  # fmt: skip
    (window,) = [e for e in third if e.kind == "window"]
    assert window.result is not None
    assert window.result.index == 3
    assert window.result.request is None
    assert window.result.cooldown
    assert len(RetrainTrigger(out / "outbox.jsonl")._read()) == 1


def test_a_bad_file_is_quarantined_and_the_monitor_goes_on(
    reference: pd.DataFrame, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "001-broken.csv").write_text('not,a\n"window')
    (inbox / "002-wrong.csv").write_text("a,b\n1,2\n")
    _batch(inbox, "003-good", labels=False)
    state = FolderState(tmp_path / "state.json")
    events = list(watch_folder(_monitor(reference, tmp_path / "out"), inbox, state))
    assert [(e.kind, e.name) for e in events] == [
        ("quarantined", "001-broken.csv"), ("quarantined", "002-wrong.csv"),
        ("window", "003-good.csv")]  # fmt: skip
    moved = inbox / "quarantine"
    assert sorted(p.name for p in moved.glob("*.csv")) == ["001-broken.csv", "002-wrong.csv"]
    assert "not a readable CSV" in (moved / "001-broken.csv.reason.txt").read_text()
    assert not (inbox / "001-broken.csv").exists()


def test_a_tiny_window_is_not_analysed(reference: pd.DataFrame, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _batch(inbox, "001-one-row", rows=1, labels=False)
    monitor = _monitor(reference, tmp_path / "out")
    (event,) = list(watch_folder(monitor, inbox, FolderState(tmp_path / "state.json")))
    assert event.kind == "small"
    assert "has 1 rows; drift needs at least 30" in event.detail
    assert monitor.index == 0  # no window counted, no verdict, no request
    with pytest.raises(SmallSampleError):
        monitor.process(Window("tiny", data.generate(5, seed=1).drop(columns=[data.TARGET])))
