"""boto3 clients and the EC2 calls costopt makes (the same code runs against AWS or moto).

The endpoint comes from boto3's own ``AWS_ENDPOINT_URL`` (the demo and tests point it at a
moto server on loopback); credentials and region from the usual places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from costopt.errors import CostoptError

REGION = "us-east-1"


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


@dataclass
class Instance:
    instance_id: str
    instance_type: str
    state: str
    tags: dict[str, str]

    @property
    def name(self) -> str:
        return self.tags.get("Name", self.instance_id)


def instances(ec2: Any, filters: dict[str, str] | None = None) -> list[Instance]:
    """Every instance (not terminated) whose tags match ``filters`` (key: value)."""
    aws_filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in (filters or {}).items()]
    aws_filters.append(
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}
    )
    out = []
    try:
        for page in ec2.get_paginator("describe_instances").paginate(Filters=aws_filters):
            for reservation in page["Reservations"]:
                for i in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
                    out.append(
                        Instance(i["InstanceId"], i["InstanceType"], i["State"]["Name"], tags)
                    )
    except (BotoCoreError, ClientError) as exc:
        raise CostoptError(f"EC2 describe_instances: {exc}") from exc
    return sorted(out, key=lambda i: i.name)


def set_state(ec2: Any, ids: list[str], state: str) -> None:
    """Start or stop instances (no call when the list is empty)."""
    if not ids:
        return
    try:
        if state == "stopped":
            ec2.stop_instances(InstanceIds=ids)
        elif state == "running":
            ec2.start_instances(InstanceIds=ids)
        else:
            raise CostoptError(f"unknown target state {state!r}")
    except (BotoCoreError, ClientError) as exc:
        raise CostoptError(f"EC2 {state}: {exc}") from exc


def launch_fleet(ec2: Any, fleet: list[dict[str, Any]]) -> list[str]:
    """Launch instances described as ``{"type": ..., "tags": {...}}`` (demo and tests)."""
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = []
    for spec in fleet:
        tags = [{"Key": k, "Value": v} for k, v in spec["tags"].items()]
        done = ec2.run_instances(
            ImageId=image,
            InstanceType=spec["type"],
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        ids.append(done["Instances"][0]["InstanceId"])
    return ids
