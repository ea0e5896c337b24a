from __future__ import annotations

import pytest
from cloudinfra.cost import load_prices, stack_cost
from cloudinfra.errors import CloudinfraError
from cloudinfra.stacks import Gpu, stack_gpu

from aiinfra_shared.iac.terraform import Terraform


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_cost_is_recomputable_from_the_price_table(terraform: Terraform, cloud: str) -> None:
    prices = load_prices(cloud)
    hours = prices["hours_per_month"]
    dev_gpu, prod_gpu = stack_gpu(cloud, "dev", terraform), stack_gpu(cloud, "prod", terraform)
    dev = stack_cost(cloud, "dev", dev_gpu, prices)
    prod = stack_cost(cloud, "prod", prod_gpu, prices)
    assert dev.items["GPU nodes"] == 0  # dev GPU pools scale to zero
    spot = prices["gpu"][dev_gpu.machine_type] * hours * (1 - prices["spot_discount"])
    assert dev.gpu_at_max == pytest.approx(dev_gpu.max * spot, abs=0.01)
    on_demand = prices["gpu"][prod_gpu.machine_type] * hours
    assert prod.items["GPU nodes"] == pytest.approx(prod_gpu.min * on_demand, abs=0.01)
    assert dev.items["control plane"] == pytest.approx(prices["control_plane"] * hours, abs=0.01)
    assert dev.total == pytest.approx(sum(dev.items.values()), abs=0.05)
    assert dev.total < prod.total < prod.total_at_max


def test_a_machine_without_a_price_is_an_error() -> None:
    gpu = Gpu("g9.mega", None, 0, 1, False)
    with pytest.raises(CloudinfraError, match=r"no aws price for GPU machine 'g9\.mega'"):
        stack_cost("aws", "dev", gpu, load_prices("aws"))
