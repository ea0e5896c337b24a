"""The shipped stacks, built by the real Pulumi SDK under mocks, on every cloud."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pulumiml.graph import Graph
from pulumiml.policies import evaluate

GraphOf = Callable[[str, str], Graph]

CLOUDS = ("aws", "gcp", "azure")


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_shipped_stack_passes_every_policy(graph_of: GraphOf, cloud: str, stack: str) -> None:
    graph = graph_of(cloud, stack)
    report = evaluate(graph, stack)
    assert report.violations == []
    assert len(report.results) == (8 if stack == "prod" else 7)
    assert {r.cloud for r in graph} == {"azure-native" if cloud == "azure" else cloud}
    assert set(graph.outputs) >= {"cluster_name", "artifact_store", "tracking_db_endpoint"}
    assert all(graph.outputs.values())


@pytest.mark.parametrize("cloud", CLOUDS)
def test_gpu_pool_is_tainted_labelled_and_scales_as_configured(
    graph_of: GraphOf, cloud: str
) -> None:
    graph = graph_of(cloud, "dev")
    if cloud == "aws":
        pool = graph.one("aws:eks/nodeGroup:NodeGroup", "-gpu").inputs
        taints, labels = pool["taints"], pool["labels"]
        assert pool["amiType"] == "AL2023_x86_64_NVIDIA"
        assert pool["capacityType"] == "SPOT"
        assert (pool["scalingConfig"]["minSize"], pool["scalingConfig"]["maxSize"]) == (0, 2)
        assert taints == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    elif cloud == "gcp":
        pool = graph.one("gcp:container/nodePool:NodePool", "-gpu").inputs
        cfg = pool["nodeConfig"]
        labels = cfg["labels"]
        assert cfg["guestAccelerators"][0]["type"] == "nvidia-tesla-t4"
        assert cfg["taints"] == [
            {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}
        ]
        assert cfg["spot"] is True
    else:
        pool = graph.one("azure-native:containerservice:AgentPool").inputs
        labels = pool["nodeLabels"]
        assert pool["nodeTaints"] == ["nvidia.com/gpu=true:NoSchedule"]
        assert pool["scaleSetPriority"] == "Spot"
        assert pool["mode"] == "User"
    assert labels == {"workload": "gpu"}


def test_aws_prod_differs_from_dev_where_it_should(graph_of: GraphOf) -> None:
    dev, prod = graph_of("aws", "dev"), graph_of("aws", "prod")
    nat = "aws:ec2/natGateway:NatGateway"
    assert (len(dev.of_type(nat)), len(prod.of_type(nat))) == (1, 3)
    db_dev = dev.one("aws:rds/instance:Instance").inputs
    db_prod = prod.one("aws:rds/instance:Instance").inputs
    assert (db_dev["multiAz"], db_prod["multiAz"]) == (False, True)
    assert (db_dev["deletionProtection"], db_prod["deletionProtection"]) == (False, True)
    assert (db_dev["skipFinalSnapshot"], db_prod["skipFinalSnapshot"]) == (True, False)
    eks_dev = dev.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    eks_prod = prod.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert eks_dev["endpointPublicAccess"] is True
    assert eks_dev["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert not eks_prod["endpointPublicAccess"]
    assert len(prod.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]["subnetIds"]) == 3


def test_gcp_and_azure_prod_databases_are_highly_available(graph_of: GraphOf) -> None:
    sql = "gcp:sql/databaseInstance:DatabaseInstance"
    assert graph_of("gcp", "dev").one(sql).inputs["settings"]["availabilityType"] == "ZONAL"
    assert graph_of("gcp", "prod").one(sql).inputs["settings"]["availabilityType"] == "REGIONAL"
    pg = "azure-native:dbforpostgresql:Server"
    assert graph_of("azure", "dev").one(pg).inputs["highAvailability"]["mode"] == "Disabled"
    assert graph_of("azure", "prod").one(pg).inputs["highAvailability"]["mode"] == "ZoneRedundant"
    assert graph_of("azure", "prod").one(pg).inputs["authConfig"]["passwordAuth"] == "Disabled"


def test_aws_mlflow_role_reaches_its_bucket_and_key_only(graph_of: GraphOf) -> None:
    graph = graph_of("aws", "dev")
    doc = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    resources = {res for stmt in doc["Statement"] for res in stmt["Resource"]}
    bucket_arn = "arn:aws:s3:::" + graph.outputs["artifact_store"].removeprefix("s3://")
    key_arn = graph.one("aws:kms/key:Key").name
    assert resources == {bucket_arn, f"{bucket_arn}/*", next(r for r in resources if key_arn in r)}
    trust = json.loads(graph.one("aws:iam/role:Role", "-mlflow").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assoc = graph.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs
    assert (assoc["namespace"], assoc["serviceAccount"]) == ("mlflow", "mlflow")


def test_artifact_store_is_encrypted_versioned_and_private_on_every_cloud(
    graph_of: GraphOf,
) -> None:
    aws = graph_of("aws", "dev")
    versioning = aws.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    tls = json.loads(aws.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    assert tls["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    gcs = graph_of("gcp", "dev").one("gcp:storage/bucket:Bucket").inputs
    assert gcs["versioning"] == {"enabled": True}
    assert gcs["encryption"]["defaultKmsKeyName"]
    account = graph_of("azure", "dev").one("azure-native:storage:StorageAccount").inputs
    assert account["allowSharedKeyAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["networkRuleSet"]["defaultAction"] == "Deny"


def test_every_resource_is_parented_by_one_platform_component(graph_of: GraphOf) -> None:
    for cloud in CLOUDS:
        graph = graph_of(cloud, "prod")
        types = [c.type for c in graph.components if c.type.startswith("pulumiml:")]
        assert types == [f"pulumiml:{cloud}:MLPlatform"]
        assert all(r.name.startswith("mlplat-prod-") for r in graph)
