"""The generated dashboard is well formed and only asks for metrics that exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from modelmon.assets import RULES_FILE, asset_dir
from modelmon.dashboard import GRID_WIDTH, Dashboard, Panel, Query, build, referenced_metrics
from modelmon.metrics import EXPORTED
from modelmon.scorecard import checks


def _known() -> set[str]:
    rules = yaml.safe_load((asset_dir("rules") / RULES_FILE).read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    return set(EXPORTED) | recorded | {"up"}


def _unknown(exprs: list[str]) -> set[str]:
    return {name for e in exprs for name in referenced_metrics(e)} - _known()


def test_every_query_reads_exported_or_recorded_metrics() -> None:
    panels = [p for p in build().to_json()["panels"] if p["type"] != "row"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert _unknown(exprs) == set()
    # ...and the rules and the scorecard read only those too.
    rules = yaml.safe_load((asset_dir("rules") / RULES_FILE).read_text())
    assert _unknown([r["expr"] for g in rules["groups"] for r in g["rules"]]) == set()
    assert _unknown([c.expr for c in checks()]) == set()


def test_a_typo_in_a_query_is_caught() -> None:
    assert _unknown(["rate(modelmon_prediction_errorz_total[5m])"]) == {
        "modelmon_prediction_errorz_total"
    }
    assert referenced_metrics(
        'histogram_quantile(0.9, sum by (le) (rate(x_bucket{le="1"}[5m])))'
    ) == {"x"}


def test_layout_is_a_valid_grid_with_unique_ids() -> None:
    model = build().to_json()
    panels = model["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0
        assert g["x"] + g["w"] <= GRID_WIDTH
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps another panel"
                cells.add((x, y))
    assert model["templating"]["list"][0]["type"] == "datasource"
    for p in panels:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}"
            assert [t["refId"] for t in p["targets"]] == [
                chr(65 + i) for i in range(len(p["targets"]))
            ]
    json.dumps(model)  # serialisable as is


def test_builder_refuses_bad_panels(tmp_path: Path) -> None:
    d = Dashboard("t", "t")
    with pytest.raises(ValueError, match="width"):
        d.add(Panel("wide", (Query("up"),), width=30))
    with pytest.raises(ValueError, match="no query"):
        d.add(Panel("empty", ()))
