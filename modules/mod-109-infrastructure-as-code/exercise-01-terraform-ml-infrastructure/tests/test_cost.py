from __future__ import annotations

from pathlib import Path

import pytest
from tfml.cost import estimate, load_prices
from tfml.errors import TfmlError
from tfml.paths import environments, terraform_dir
from tfml.sizing import evaluate_sizing, platform_values

from aiinfra_shared.iac.terraform import Terraform

PRICES = terraform_dir().parent / "prices" / "aws-us-east-1.yaml"


@pytest.fixture(scope="module")
def sizing(terraform: Terraform) -> dict[str, dict[str, object]]:
    """Each environment's sizing profile, evaluated by Terraform from the naming module."""
    return {env: evaluate_sizing(path, terraform)["sizing"] for env, path in environments().items()}


def test_terraform_evaluates_each_environments_profile(
    sizing: dict[str, dict[str, object]],
) -> None:
    assert sizing["dev"]["nat_gateways"] == 1
    assert sizing["prod"]["nat_gateways"] == 3  # one per zone: prod lists three
    assert (sizing["dev"]["db_multi_az"], sizing["prod"]["db_multi_az"]) == (False, True)
    assert sizing["dev"]["gpu_capacity_type"] == "SPOT"


def test_estimate_follows_the_price_table(sizing: dict[str, dict[str, object]]) -> None:
    prices = load_prices(PRICES)
    hours = prices["hours_per_month"]
    dev = estimate("dev", platform_values(environments()["dev"]), sizing["dev"], prices)
    prod = estimate("prod", platform_values(environments()["prod"]), sizing["prod"], prices)
    gpu = {i.item: i for i in dev.items}["GPU nodes"]
    spot_rate = prices["ec2"]["g5.xlarge"] * hours * (1 - prices["spot_discount"])
    assert gpu.monthly == 0  # scales to zero at rest
    assert gpu.monthly_at_max == pytest.approx(2 * spot_rate, abs=0.01)
    db = {i.item: i for i in prod.items}["PostgreSQL (RDS)"]
    one_copy = prices["rds"]["db.m6g.large"] * hours + 100 * prices["rds_storage_gb_month"]
    assert db.monthly == pytest.approx(2 * one_copy, abs=0.01)  # Multi-AZ doubles it
    assert db.detail == "db.m6g.large, 100 GB, Multi-AZ"
    assert dev.total == pytest.approx(sum(i.monthly for i in dev.items))
    assert dev.total < prod.total < prod.total_at_max


def test_unknown_instance_type_is_a_clear_error(sizing: dict[str, dict[str, object]]) -> None:
    values = platform_values(environments()["dev"]) | {"gpu_instance_type": "g9.mega"}
    with pytest.raises(TfmlError, match=r"no ec2 price for 'g9.mega'"):
        estimate("dev", values, sizing["dev"], load_prices(PRICES))


def test_sizing_needs_literal_values(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'module "platform" {\n  source  = "../x"\n  project = var.project\n}\n'
    )
    with pytest.raises(TfmlError, match=r"\['project'\] are expressions"):
        platform_values(tmp_path)
