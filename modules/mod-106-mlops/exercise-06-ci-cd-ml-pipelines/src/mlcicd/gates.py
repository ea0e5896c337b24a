"""Quality gates: a verdict and the evidence for it, per check, for data and for models.

``data_gate`` checks a table against the schema (pandera: columns, types, ranges, categories),
its null fractions, its label balance, and its drift against a reference (a KS test and the
population stability index per feature). ``model_gate`` checks a trained model on held-out
rows: metric thresholds, no regression against the production baseline, metrics per slice,
an invariance test, directional tests, a latency and a size budget.

Both return a :class:`Gate`; :meth:`Gate.markdown` is what a CI job posts on the pull request.
"""

from __future__ import annotations

import math
import pickle
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from scipy import stats
from sklearn.metrics import f1_score, roc_auc_score

from mlcicd.config import DataThresholds, ModelThresholds
from mlcicd.data import CATEGORICAL, CHANNELS, FEATURES, LABEL, NUMERIC, REGIONS

SCHEMA = pa.DataFrameSchema(
    {
        "income": pa.Column(float, pa.Check.in_range(0, 10_000), nullable=True, coerce=True),
        "debt_ratio": pa.Column(float, pa.Check.in_range(0, 5), nullable=True, coerce=True),
        "age": pa.Column(float, pa.Check.in_range(18, 120), nullable=True, coerce=True),
        "employment_years": pa.Column(float, pa.Check.in_range(0, 80), nullable=True, coerce=True),
        "region": pa.Column(str, pa.Check.isin(REGIONS), nullable=True),
        "channel": pa.Column(str, pa.Check.isin(CHANNELS), nullable=True),
        LABEL: pa.Column(int, pa.Check.isin([0, 1]), coerce=True),
    },
    strict=True,
    ordered=False,
)


@dataclass
class Check:
    """One check: its verdict and the evidence a reviewer reads."""

    name: str
    passed: bool
    evidence: str
    skipped: bool = False


@dataclass
class Gate:
    """A gate's checks; it passes when every check that ran passed."""

    name: str
    checks: list[Check] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed or c.skipped for c in self.checks)

    def add(self, name: str, passed: bool, evidence: str) -> None:
        self.checks.append(Check(name, bool(passed), evidence))

    def skip(self, name: str, why: str) -> None:
        self.checks.append(Check(name, True, why, skipped=True))

    def markdown(self) -> str:
        """The verdict as Markdown (a table per gate), for a CI job summary or PR comment."""
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"### {self.name} gate: {verdict}", "", "| check | result | evidence |",
                 "|---|---|---|"]  # fmt: skip
        for c in self.checks:
            result = "skipped" if c.skipped else ("pass" if c.passed else "**FAIL**")
            evidence = c.evidence.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {c.name} | {result} | {evidence} |")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- data gate


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of a numeric feature (reference deciles as bins)."""
    reference = reference[~np.isnan(reference)]
    current = current[~np.isnan(current)]
    if len(reference) == 0 or len(current) == 0:
        return math.inf
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    ref = np.histogram(reference, edges)[0] / len(reference)
    cur = np.histogram(current, edges)[0] / len(current)
    return _psi(ref, cur)


def psi_categorical(reference: pd.Series, current: pd.Series) -> float:
    """Population stability index of a categorical feature (one bin per category)."""
    cats = sorted(set(reference.dropna()) | set(current.dropna()))
    ref = reference.value_counts(normalize=True).reindex(cats, fill_value=0).to_numpy()
    cur = current.value_counts(normalize=True).reindex(cats, fill_value=0).to_numpy()
    return _psi(ref, cur)


def _psi(ref: np.ndarray, cur: np.ndarray) -> float:
    eps = 1e-4
    ref = np.clip(ref, eps, None)
    cur = np.clip(cur, eps, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _schema_failures(frame: pd.DataFrame) -> list[str]:
    try:
        SCHEMA.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        found = []
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=True):
            examples = ", ".join(str(v) for v in group["failure_case"].head(3))
            where = column if isinstance(column, str) else "table"
            found.append(f"{where}: {check} ({len(group)} rows, e.g. {examples})")
        return found
    return []


def data_gate(
    frame: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    thresholds: DataThresholds | None = None,
) -> Gate:
    """Check a data table (and its drift against ``reference`` when one is given)."""
    t = thresholds or DataThresholds()
    gate = Gate("data")
    failures = _schema_failures(frame)
    gate.add(
        "schema", not failures,
        "; ".join(failures) if failures else f"{len(frame.columns)} columns, types and ranges ok",
    )  # fmt: skip
    gate.add("rows", len(frame) >= t.min_rows, f"{len(frame)} rows (min {t.min_rows})")
    present = [c for c in (*FEATURES, LABEL) if c in frame.columns]
    nulls = {c: float(frame[c].isna().mean()) for c in present}
    worst = max(nulls, key=lambda c: nulls[c]) if nulls else None
    gate.add(
        "nulls",
        worst is not None and nulls[worst] <= t.max_null_fraction,
        f"worst {worst} {nulls[worst]:.1%} null (max {t.max_null_fraction:.1%})"
        if worst else "no known columns",
    )  # fmt: skip
    gate.details["null_fraction"] = nulls
    if LABEL in frame.columns and not failures:
        rate = float(pd.to_numeric(frame[LABEL], errors="coerce").mean())
        gate.add(
            "label_balance", t.min_positive_rate <= rate <= t.max_positive_rate,
            f"default rate {rate:.1%} "
            f"(allowed {t.min_positive_rate:.0%}-{t.max_positive_rate:.0%})",
        )  # fmt: skip
    if reference is None:
        gate.skip("drift", "no reference data given")
        return gate
    if failures:
        gate.skip("drift", "the schema failed: drift is not measured on malformed data")
        return gate
    drift: dict[str, dict[str, float | bool]] = {}
    for column in NUMERIC:
        ref = pd.to_numeric(reference[column], errors="coerce").to_numpy(dtype=float)
        cur = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        ks = stats.ks_2samp(ref[~np.isnan(ref)], cur[~np.isnan(cur)])
        value = psi(ref, cur)
        drift[column] = {
            "ks_statistic": float(ks.statistic), "p_value": float(ks.pvalue), "psi": value,
            "drifted": bool(ks.pvalue < t.drift_p_value and value > t.max_psi),
        }  # fmt: skip
    for column in CATEGORICAL:
        value = psi_categorical(reference[column], frame[column])
        new = sorted(set(frame[column].dropna()) - set(reference[column].dropna()))
        drift[column] = {"psi": value, "new_categories": len(new),
                         "drifted": bool(value > t.max_psi or new)}  # fmt: skip
    gate.details["drift"] = drift
    drifted = [c for c, d in drift.items() if d["drifted"]]
    evidence = ", ".join(f"{c} (PSI {drift[c]['psi']:.2f})" for c in drifted) or "none"
    gate.add(
        "drift", len(drifted) <= t.max_drifted_features,
        f"drifted features: {evidence} (max {t.max_drifted_features}; KS p < "
        f"{t.drift_p_value} and PSI > {t.max_psi})",
    )  # fmt: skip
    return gate


# -------------------------------------------------------------------------- model gate


def _proba(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(frame[list(FEATURES)])[:, 1], dtype=float)


def model_metrics(model: Any, test: pd.DataFrame) -> dict[str, float]:
    """ROC AUC, F1 and accuracy on held-out rows, overall and ROC AUC per region."""
    y = test[LABEL].to_numpy()
    p = _proba(model, test)
    found = {
        "roc_auc": float(roc_auc_score(y, p)),
        "f1": float(f1_score(y, p >= 0.5)),
        "accuracy": float(np.mean((p >= 0.5) == y)),
    }
    for region in REGIONS:
        mask = (test["region"] == region).to_numpy()
        if mask.sum() >= 20 and len(set(y[mask])) == 2:
            found[f"roc_auc_{region}"] = float(roc_auc_score(y[mask], p[mask]))
    return found


def latency_p95_ms(model: Any, test: pd.DataFrame, calls: int = 60) -> float:
    """p95 of single-row prediction calls (the server's unit of work), in milliseconds."""
    rows = test[list(FEATURES)].head(calls)
    times = []
    for i in range(len(rows)):
        start = time.perf_counter()
        model.predict_proba(rows.iloc[i : i + 1])
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 95))


def size_mb(model: Any) -> float:
    """The pickled model's size in MB."""
    return len(pickle.dumps(model)) / 1e6


def model_gate(
    model: Any,
    test: pd.DataFrame,
    *,
    baseline: dict[str, float] | None = None,
    thresholds: ModelThresholds | None = None,
    metrics: dict[str, float] | None = None,
) -> Gate:
    """Check a model on held-out rows.

    Args:
        model: A fitted classifier with ``predict_proba`` over :data:`FEATURES`.
        test: Held-out rows with the label.
        baseline: The production model's metrics (``roc_auc``...), None on a first model.
        thresholds: What passes (defaults: :class:`ModelThresholds`).
        metrics: Precomputed :func:`model_metrics` (computed when None).
    """
    t = thresholds or ModelThresholds()
    m = metrics or model_metrics(model, test)
    gate = Gate("model", details={"metrics": m})
    gate.add("roc_auc", m["roc_auc"] >= t.min_roc_auc,
             f"ROC AUC {m['roc_auc']:.3f} (min {t.min_roc_auc})")  # fmt: skip
    gate.add("f1", m["f1"] >= t.min_f1, f"F1 {m['f1']:.3f} (min {t.min_f1})")
    if baseline and "roc_auc" in baseline:
        delta = m["roc_auc"] - float(baseline["roc_auc"])
        gate.add(
            "no_regression", delta >= -t.max_regression,
            f"ROC AUC {m['roc_auc']:.3f} vs production {float(baseline['roc_auc']):.3f} "
            f"({delta:+.3f}; max drop {t.max_regression})",
        )  # fmt: skip
    else:
        gate.skip("no_regression", "no production baseline (first model)")
    slices = {k.removeprefix("roc_auc_"): v for k, v in m.items() if k.startswith("roc_auc_")}
    worst = min(slices, key=lambda k: slices[k]) if slices else None
    gate.add(
        "slices", worst is not None and slices[worst] >= t.min_slice_roc_auc,
        (f"worst region {worst}: ROC AUC {slices[worst]:.3f} (min {t.min_slice_roc_auc}); "
         + ", ".join(f"{k} {v:.3f}" for k, v in sorted(slices.items())))
        if worst else "no region has enough rows of both classes",
    )  # fmt: skip

    sample = test.head(400).reset_index(drop=True)
    base = _proba(model, sample)
    moved = np.zeros(len(sample))
    for channel in CHANNELS:
        other = sample.assign(channel=channel)
        moved = np.maximum(moved, np.abs(_proba(model, other) - base))
    share = float(np.mean(moved > t.invariance_tolerance))
    gate.add(
        "invariance_channel", share <= t.max_invariance_violations,
        f"changing the application channel moved {share:.1%} of predictions by more than "
        f"{t.invariance_tolerance} (max {t.max_invariance_violations:.0%})",
    )  # fmt: skip
    richer = _proba(model, sample.assign(income=sample["income"] * 1.5))
    agree = float(np.mean(richer <= base + 0.01))
    gate.add(
        "directional_income", agree >= t.min_directional_agreement,
        f"+50% income did not raise the risk for {agree:.1%} of rows "
        f"(min {t.min_directional_agreement:.0%})",
    )  # fmt: skip
    indebted = _proba(model, sample.assign(debt_ratio=sample["debt_ratio"] + 0.3))
    agree = float(np.mean(indebted >= base - 0.01))
    gate.add(
        "directional_debt", agree >= t.min_directional_agreement,
        f"+0.3 debt ratio did not lower the risk for {agree:.1%} of rows "
        f"(min {t.min_directional_agreement:.0%})",
    )  # fmt: skip
    p95 = latency_p95_ms(model, test)
    budget = f"max {t.max_latency_p95_ms:g} ms"
    gate.add("latency", p95 <= t.max_latency_p95_ms,
             f"p95 single-row prediction {p95:.1f} ms ({budget})")  # fmt: skip
    mb = size_mb(model)
    gate.add("size", mb <= t.max_size_mb, f"{mb:.2f} MB pickled (max {t.max_size_mb:g} MB)")
    gate.details.update({"latency_p95_ms": p95, "size_mb": mb})
    return gate
