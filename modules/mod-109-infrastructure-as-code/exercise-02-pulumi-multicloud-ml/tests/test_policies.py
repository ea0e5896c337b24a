"""Negative fixtures: hand-written resources that break each rule, built under the same mocks.

If a policy stopped catching these (or a component stopped satisfying it), these fail.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws
import pulumi_azure_native as az
import pulumi_gcp as gcp
import pytest
from pulumiml.graph import synthesize
from pulumiml.policies import evaluate
from pulumiml.spec import PlatformSpec

SPEC = PlatformSpec(name="mlplat")
TAGS = SPEC.tags()


def _violations(program: Any, environment: str = "dev") -> dict[str, list[str]]:
    report = evaluate(synthesize(SPEC, program), environment)
    return {k: [f"{v.resource}: {v.message}" for v in vs] for k, vs in report.results.items() if vs}


def test_a_bucket_without_encryption_or_public_access_block_fails() -> None:
    def program(_spec: PlatformSpec) -> dict[str, Any]:
        bucket = aws.s3.Bucket("bare", tags=TAGS)
        return {"bucket": bucket.id}

    found = _violations(program)
    assert sorted(found["encryption-at-rest"]) == sorted(
        ["Bucket bare: no SSE-KMS configuration targets this bucket"]
    )
    assert sorted(found["no-public-storage"]) == sorted(
        ["Bucket bare: no public access block with all four settings on"]
    )


def test_a_security_group_open_to_the_internet_fails() -> None:
    def program(_spec: PlatformSpec) -> dict[str, Any]:
        sg = aws.ec2.SecurityGroup(
            "open-db",
            vpc_id="vpc-1",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=5432, to_port=5432, cidr_blocks=["0.0.0.0/0"]
                )
            ],
            tags=TAGS,
        )
        rule = aws.vpc.SecurityGroupIngressRule(
            "ssh",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=22,
            to_port=22,
            cidr_ipv6="::/0",
            tags=TAGS,
        )
        return {"sg": sg.id, "rule": rule.id}

    found = _violations(program)
    assert sorted(found["no-open-ingress"]) == sorted(
        [
            "SecurityGroup open-db: ingress 5432-5432 open to ['0.0.0.0/0']",
            "SecurityGroupIngressRule ssh: ingress rule open to the internet",
        ]
    )


def test_public_database_and_missing_tags_fail() -> None:
    def program(_spec: PlatformSpec) -> dict[str, Any]:
        db = aws.rds.Instance(
            "public-db",
            engine="postgres",
            instance_class="db.t4g.micro",
            allocated_storage=20,
            storage_encrypted=True,
            publicly_accessible=True,
            tags={"project": "mlplat"},
        )
        return {"db": db.id}

    found = _violations(program, "prod")
    assert sorted(found["database-private"]) == sorted(
        ["Instance public-db: publicly_accessible is true"]
    )
    assert sorted(found["tags-required"]) == sorted(
        ["Instance public-db: missing environment, owner, cost-center, managed-by in tags"]
    )
    assert sorted(found["prod-hardening"]) == sorted(
        [
            "Instance public-db: not Multi-AZ",
            "Instance public-db: deletion protection off",
        ]
    )


def test_untainted_gpu_pools_fail_on_every_cloud() -> None:
    def program(_spec: PlatformSpec) -> dict[str, Any]:
        aws.eks.NodeGroup(
            "gpu",
            cluster_name="c",
            node_role_arn="arn",
            subnet_ids=["s"],
            instance_types=["p4d.24xlarge"],
            tags=TAGS,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=0, max_size=1, desired_size=0
            ),
        )
        gcp.container.NodePool(
            "gke-gpu",
            cluster="c",
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type="a2-highgpu-1g",
                resource_labels=TAGS,
                guest_accelerators=[
                    gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                        type="nvidia-tesla-a100", count=1
                    )
                ],
            ),
        )
        az.containerservice.AgentPool(
            "aks-gpu",
            resource_group_name="rg",
            resource_name_="aks",
            vm_size="Standard_NC6s_v3",
            node_taints=["dedicated=ml:NoSchedule"],
            tags=TAGS,
        )
        return {}

    found = _violations(program)
    assert sorted(v.split(":")[0] for v in found["gpu-nodes-tainted"]) == sorted(
        [
            "NodeGroup gpu",
            "NodePool gke-gpu",
            "AgentPool aks-gpu",
        ]
    )


def test_wildcard_iam_and_broad_roles_fail() -> None:
    def program(_spec: PlatformSpec) -> dict[str, Any]:
        aws.iam.RolePolicy(
            "admin-ish",
            role="r",
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        gcp.projects.IAMMember("editor", project="p", role="roles/editor", member="user:a@b.c")
        gcp.storage.BucketIAMMember(
            "world", bucket="b", role="roles/storage.objectViewer", member="allUsers"
        )
        az.authorization.RoleAssignment(
            "owner",
            principal_id="x",
            scope="/subscriptions/0000",
            role_definition_id="/providers/Microsoft.Authorization/roleDefinitions/"
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        )
        return {}

    found = _violations(program)
    assert sorted(found["least-privilege"]) == sorted(
        [
            "RolePolicy admin-ish: wildcard action ['s3:*']",
            "RolePolicy admin-ish: Resource '*'",
            "IAMMember editor: grants roles/editor",
            "RoleAssignment owner: assigns Owner/Contributor/User Access Administrator",
            "RoleAssignment owner: scoped to a whole subscription (/subscriptions/0000)",
        ]
    )
    assert sorted(found["no-public-storage"]) == sorted(["BucketIAMMember world: grants allUsers"])


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"source_address_prefix": "*"}, "rule open allows inbound from anywhere"),
        ({"source_address_prefix": "Internet"}, "rule open allows inbound from anywhere"),
    ],
)
def test_azure_nsg_and_gcp_firewall_open_to_anywhere_fail(
    rule: dict[str, str], expected: str
) -> None:
    def program(_spec: PlatformSpec) -> dict[str, Any]:
        az.network.NetworkSecurityGroup(
            "nsg",
            resource_group_name="rg",
            tags=TAGS,
            security_rules=[
                az.network.SecurityRuleArgs(
                    name="open",
                    priority=100,
                    direction="Inbound",
                    access="Allow",
                    protocol="Tcp",
                    source_port_range="*",
                    destination_address_prefix="*",
                    destination_port_range="22",
                    **rule,
                )
            ],
        )
        gcp.compute.Firewall(
            "fw",
            network="n",
            source_ranges=["0.0.0.0/0"],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=["22"])],
        )
        return {}

    found = _violations(program)
    assert sorted(found["no-open-ingress"]) == sorted(
        [
            f"NetworkSecurityGroup nsg: {expected}",
            "Firewall fw: firewall allows ingress from 0.0.0.0/0",
        ]
    )


def test_a_new_gcp_type_must_declare_where_its_labels_live() -> None:
    def program(_spec: PlatformSpec) -> dict[str, Any]:
        gcp.pubsub.Topic("events", labels=TAGS)
        return {}

    found = _violations(program)
    assert sorted(found["tags-required"]) == sorted(
        ["Topic events: type not in TAG_PATHS: say where its labels live (or None)"]
    )
