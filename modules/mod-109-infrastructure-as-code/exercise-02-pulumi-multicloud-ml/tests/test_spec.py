from __future__ import annotations

from pathlib import Path

import pytest
from pulumiml.errors import PulumimlError
from pulumiml.spec import Cloud, PlatformSpec, load_stack, stack_names


def test_shipped_stacks_load_and_differ_where_they_should() -> None:
    assert stack_names() == ["dev", "prod"]
    dev, prod = load_stack("dev"), load_stack("prod")
    assert (dev.environment, prod.environment) == ("dev", "prod")
    assert (dev.gpu_pool.spot, prod.gpu_pool.spot) == (True, False)
    assert (prod.database.high_availability, prod.database.deletion_protection) == (True, True)
    assert (prod.zones, prod.admin_cidrs) == (3, ())


def test_moving_a_stack_to_another_cloud_takes_that_clouds_defaults() -> None:
    spec = load_stack("dev", cloud="gcp")
    assert spec.cloud is Cloud.GCP
    assert spec.resolved_region == "us-central1"
    assert spec.gpu_machine_type() == "n1-standard-8"
    assert spec.db_class() == "db-custom-2-7680"


def test_prod_without_ha_or_protection_is_refused_with_every_reason() -> None:
    with pytest.raises(ValueError, match="a prod platform") as err:
        PlatformSpec(name="mlplat", environment="prod", zones=1, database={"backup_days": 3})
    text = str(err.value)
    for reason in ("high_availability", "deletion_protection", "backup_days", "zones"):
        assert reason in text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("network_cidr", "8.8.0.0/16", "not a private IPv4 range"),
        ("network_cidr", "10.0.0.0/8", "use a /16 to /20"),
        ("admin_cidrs", ["0.0.0.0/0"], "too wide"),
        ("name", "ML_Platform", "String should match pattern"),
        ("gpu_pool", {"min_nodes": 3, "max_nodes": 1}, "min_nodes (3) > max_nodes (1)"),
        ("region", "mars-north-9", "region 'mars-north-9' is not offered on aws"),
        ("kubernetes_version", "banana", "kubernetes_version 'banana' is not offered on aws"),
        ("kubernetes_version", "1.99", "kubernetes_version '1.99' is not offered"),
    ],
)
def test_bad_specs_name_the_problem(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PlatformSpec.model_validate({"name": "mlplat", field: value})


def test_subnets_do_not_overlap_and_stay_inside_the_network() -> None:
    import ipaddress

    spec = PlatformSpec(name="mlplat", zones=3, network_cidr="10.60.0.0/16")
    blocks = [ipaddress.ip_network(b) for group in spec.subnets().values() for b in group]
    assert len(blocks) == 7
    net = ipaddress.ip_network(spec.network_cidr)
    assert all(b.subnet_of(net) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_stack_file_errors_are_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  pulumiml:platform:\n    name: mlplat\n    zones: 9\n"
    )
    (tmp_path / "Pulumi.empty.yaml").write_text("config: {}\n")
    with pytest.raises(PulumimlError, match=r"Pulumi.bad.yaml: invalid pulumiml:platform: zones"):
        load_stack("bad", directory=tmp_path)
    with pytest.raises(PulumimlError, match="has no pulumiml:platform"):
        load_stack("empty", directory=tmp_path)
    with pytest.raises(PulumimlError, match="stacks: bad, empty"):
        load_stack("nope", directory=tmp_path)
    with pytest.raises(PulumimlError, match="unknown cloud 'ibm'"):
        load_stack("bad", cloud="ibm", directory=tmp_path)


def test_regions_and_versions_are_checked_per_cloud() -> None:
    from pulumiml.spec import DEFAULT_REGION, Cloud, offered

    for cloud in Cloud:  # every default is in the shipped list
        PlatformSpec(name="mlplat", cloud=cloud, region=DEFAULT_REGION[cloud])
    assert PlatformSpec(name="mlplat", cloud="gcp", region="europe-west4").region == "europe-west4"
    with pytest.raises(ValueError, match="region 'us-east-1' is not offered on gcp"):
        PlatformSpec(name="mlplat", cloud="gcp", region="us-east-1")  # an AWS name on GCP
    with pytest.raises(ValueError, match="region 'westeurope' is not offered on aws"):
        PlatformSpec(name="mlplat", region="westeurope")
    assert offered()["as_of"]


def test_a_stack_with_a_made_up_region_fails_check_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    (tmp_path / "Pulumi.mars.yaml").write_text(
        "config:\n  pulumiml:platform:\n    name: mlplat\n    region: mars-north-9\n"
        "    kubernetes_version: banana\n"
    )
    with pytest.raises(PulumimlError) as refused:
        load_stack("mars", directory=tmp_path)
    text = str(refused.value)
    assert "\n" not in text
    assert "region 'mars-north-9'" in text
    assert "kubernetes_version 'banana'" in text
