"""The Pulumi program: the stack's ``pulumiml:platform`` config -> one :class:`MLPlatform`."""

from __future__ import annotations

from typing import Any

import pulumi

from pulumiml.components import MLPlatform
from pulumiml.spec import spec_from_config


def build(spec: Any) -> dict[str, Any]:
    """Create the platform for ``spec``; returns the stack outputs (name -> Output)."""
    platform = MLPlatform.create(spec.prefix, spec)
    return {
        "cloud": spec.cloud.value,
        "network_id": platform.network_id,
        "cluster_name": platform.cluster_name,
        "artifact_store": platform.artifact_store,
        "tracking_db_endpoint": platform.tracking_db_endpoint,
        "workload_identity": platform.workload_identity,
    }


def platform_program() -> None:
    """Entry point of ``pulumi up`` (stacks/__main__.py) and the Automation API driver."""
    raw = pulumi.Config("pulumiml").require_object("platform")
    spec = spec_from_config(raw, f"stack {pulumi.get_stack()}")
    for key, value in build(spec).items():
        pulumi.export(key, value)
