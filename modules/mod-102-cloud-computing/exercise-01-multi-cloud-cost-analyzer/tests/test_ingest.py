from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from costlens.errors import CostlensError
from costlens.ingest import ingest
from costlens.sample import generate
from costlens.store import Store

from aiinfra_shared.services import start


def test_every_cloud_lands_in_focus_columns_with_its_own_totals(
    sample: dict[str, Any], store: Store
) -> None:
    cur = pd.read_parquet(sample["files"]["aws"][0])
    gcp = [json.loads(line) for line in Path(sample["files"]["gcp"][0]).read_text().splitlines()]
    azure_actual = pd.read_csv(sample["files"]["azure"][0])
    azure_amortized = pd.read_csv(sample["files"]["azure"][1])
    got = store.df(
        "SELECT ProviderName AS p, count(*) AS n, sum(BilledCost) AS billed, "
        "sum(EffectiveCost) AS eff FROM focus GROUP BY ALL"
    ).set_index("p")
    assert got.loc["AWS", "n"] == len(cur)
    assert got.loc["AWS", "billed"] == pytest.approx(cur["line_item_unblended_cost"].sum())
    gcp_net = sum(r["cost"] + sum(c["amount"] for c in r["credits"]) for r in gcp)
    assert got.loc["Google Cloud", "n"] == len(gcp)
    assert got.loc["Google Cloud", "eff"] == pytest.approx(gcp_net)
    assert got.loc["Microsoft", "billed"] == pytest.approx(
        azure_actual["CostInBillingCurrency"].sum()
    )
    # Amortized: the reservation's cost sits on its usage rows, its purchase is 0.
    assert got.loc["Microsoft", "eff"] == pytest.approx(
        azure_amortized["CostInBillingCurrency"].sum()
    )


def test_savings_plan_rows_follow_aws_focus_rules(store: Store) -> None:
    rows = store.df(
        "SELECT ChargeCategory, PricingCategory, sum(BilledCost) AS billed, "
        "sum(EffectiveCost) AS eff, sum(ListCost) AS list_cost FROM focus WHERE "
        "ProviderName = 'AWS' AND CommitmentDiscountId IS NOT NULL GROUP BY ALL"
    )
    usage = rows[rows["ChargeCategory"] == "Usage"].iloc[0]
    fee = rows[rows["ChargeCategory"] == "Purchase"].iloc[0]
    assert usage["PricingCategory"] == "Committed"
    assert usage["billed"] == pytest.approx(0.0, abs=1e-6)  # covered usage + its negation
    assert usage["eff"] == pytest.approx(usage["list_cost"] * 0.72, rel=1e-4)
    assert fee["billed"] == pytest.approx(usage["eff"], rel=1e-4)  # the fee pays for it
    assert fee["eff"] == 0.0


def test_csv_and_parquet_cur_give_the_same_rows(tmp_path: Path, store: Store) -> None:
    generate(tmp_path, aws_format="csv", providers=("aws",))
    with Store(":memory:") as mem:
        ingest(mem, str(tmp_path / "aws-cur-00001.csv"))
        csv_rows = mem.df(
            "SELECT ChargePeriodStart, ResourceId, BilledCost, EffectiveCost, Tags "
            "FROM focus ORDER BY ALL"
        )
    parquet_rows = store.df(
        "SELECT ChargePeriodStart, ResourceId, BilledCost, EffectiveCost, "
        "Tags FROM focus WHERE ProviderName = 'AWS' ORDER BY ALL"
    )
    pd.testing.assert_frame_equal(csv_rows, parquet_rows)


def test_ingesting_again_adds_nothing_and_says_so(sample: dict[str, Any], fresh_db: Path) -> None:
    with Store(fresh_db) as store:
        before = store.rows()
        results = ingest(store, str(sample["dir"]))
        assert store.rows() == before
    actual = [r for r in results if r.format != "azure-amortized"]
    assert all(r.rows_loaded == 0 and r.rows_duplicate == r.rows_read for r in actual)


def test_a_file_missing_columns_is_refused_whole(tmp_path: Path) -> None:
    bad = tmp_path / "cur.csv"
    pd.DataFrame({"identity_line_item_id": ["a"], "line_item_unblended_cost": ["1"]}).to_csv(bad)
    with Store(":memory:") as store:
        with pytest.raises(CostlensError, match=r"missing column.*identity_time_interval"):
            ingest(store, str(bad))
        assert store.rows() == 0


def test_bad_rows_are_counted_with_reasons_and_the_rest_loaded(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    generate(tmp_path, aws_format="csv", providers=("aws",))
    path = tmp_path / "aws-cur-00001.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[3, "line_item_unblended_cost"] = "12,5"
    frame.loc[4, "line_item_usage_start_date"] = "yesterday"
    frame.loc[5, "line_item_currency_code"] = "EUR"
    frame.loc[6, "line_item_unblended_cost"] = "nan"
    frame = pd.concat([frame, frame.iloc[[10]]])  # a repeated line item
    frame.to_csv(path, index=False)
    with Store(":memory:") as store:
        [result] = ingest(store, str(path))
        reasons = store.df('SELECT "row", reason FROM rejections ORDER BY "row"')
        loaded = store.rows()
    assert result.rows_read == len(frame)
    assert (result.rows_rejected, result.rows_duplicate) == (4, 1)
    assert loaded == len(frame) - 5  # nothing lost: loaded + rejected = read
    text = " | ".join(reasons["reason"])
    assert "'12,5' is not a finite number" in text
    assert "'yesterday' is not a date" in text
    assert "currency 'EUR' is not the store's USD" in text
    assert "same as row 11 of this file" in text
    assert list(reasons["row"][:4]) == [4, 5, 6, 7]


def test_the_amortized_export_alone_is_rejected_with_the_fix(sample: dict[str, Any]) -> None:
    with Store(":memory:") as store:
        [result] = ingest(store, sample["files"]["azure"][1])
        reason = store.scalar("SELECT any_value(reason) FROM rejections")
    assert result.rows_updated == 0
    assert result.rows_rejected > 0
    assert "ingest the actual-cost export first" in reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "has no rows|cannot read"),
        ("a,b\n1,2\n", "not a billing export costlens knows"),
    ],
)
def test_unreadable_or_foreign_files_are_clear_errors(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(content)
    with Store(":memory:") as store, pytest.raises(CostlensError, match=message):
        ingest(store, str(path))


@pytest.mark.integration
def test_cur_is_read_from_an_s3_bucket_with_boto3(
    sample: dict[str, Any], store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start("s3", workdir=tmp_path / "s3") as s3:
        for key, value in s3.env.items():
            monkeypatch.setenv(key, value)
        client = boto3.client("s3")
        client.create_bucket(Bucket="exports")
        client.upload_file(sample["files"]["aws"][0], "exports", "cur2/data/part-0.parquet")
        client.put_object(Bucket="exports", Key="cur2/metadata/manifest.txt", Body=b"ignored")
        with Store(":memory:") as mem:
            [result] = ingest(mem, "s3://exports/cur2/")
            total = mem.scalar("SELECT sum(BilledCost) FROM focus")
            source = mem.scalar("SELECT any_value(x_SourceFile) FROM focus")
        with pytest.raises(CostlensError, match="no export files"):
            ingest(Store(":memory:"), "s3://exports/nothing-here/")
    assert result.rows_loaded == result.rows_read > 0
    assert source == "s3://exports/cur2/data/part-0.parquet"
    expected = store.scalar("SELECT sum(BilledCost) FROM focus WHERE ProviderName = 'AWS'")
    assert total == pytest.approx(expected)
