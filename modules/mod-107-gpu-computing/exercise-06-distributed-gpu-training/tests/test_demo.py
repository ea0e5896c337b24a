from __future__ import annotations

import io
from pathlib import Path

import pytest
from ddptrain.demo import run_demo
from rich.console import Console

pytestmark = pytest.mark.integration


def test_the_demo_kills_a_rank_and_ends_where_the_single_process_does(tmp_path: Path) -> None:
    out = io.StringIO()
    rows = run_demo(tmp_path, console=Console(file=out, width=140))
    single, ddp = rows
    assert ddp["attempts"] == 2
    assert ddp["resumed from"] == "step 16"
    assert ddp["val_acc"] == pytest.approx(single["val_acc"], abs=2 / 512)
    assert ddp["diff"] < 1e-4
    printed = out.getvalue()
    assert "torchrun DDP" in printed
    assert "restart 1: resumed at step 16" in printed
