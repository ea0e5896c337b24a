"""The cloud-agnostic description of an ML platform, and the stack files that hold one.

One :class:`PlatformSpec` drives all three clouds: the component for each cloud maps the same
fields to that cloud's resources (a VPC/VNet, a managed Kubernetes cluster with a tainted GPU
pool, an encrypted artifact store, a managed PostgreSQL for MLflow, a workload identity that can
touch the artifact store and nothing else). Stack files (``stacks/Pulumi.<stack>.yaml``) hold
the spec under the ``pulumiml:platform`` key, the way ``pulumi config set --path`` writes it.
"""

from __future__ import annotations

import functools
import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pulumiml.errors import PulumimlError

CONFIG_KEY = "pulumiml:platform"


class Cloud(StrEnum):
    """The clouds an :class:`~pulumiml.components.MLPlatform` can be built on."""

    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


#: Region used when a spec names none.
DEFAULT_REGION = {Cloud.AWS: "us-east-1", Cloud.GCP: "us-central1", Cloud.AZURE: "eastus"}
#: A GPU machine type per cloud with one NVIDIA GPU (T4/A10G class), used when a spec names none.
DEFAULT_GPU_TYPE = {
    Cloud.AWS: "g5.xlarge",
    Cloud.GCP: "n1-standard-8",
    Cloud.AZURE: "Standard_NC4as_T4_v3",
}
DEFAULT_SYSTEM_TYPE = {
    Cloud.AWS: "m6i.large",
    Cloud.GCP: "e2-standard-4",
    Cloud.AZURE: "Standard_D4s_v5",
}
DEFAULT_DB_CLASS = {
    Cloud.AWS: {"dev": "db.t4g.medium", "prod": "db.m6g.large"},
    Cloud.GCP: {"dev": "db-custom-2-7680", "prod": "db-custom-4-15360"},
    Cloud.AZURE: {"dev": "Standard_B2s", "prod": "Standard_D4ds_v5"},
}


@functools.cache
def offered() -> dict[str, Any]:
    """The shipped snapshot of each cloud's regions and Kubernetes versions
    (``providers.yaml`` beside this module)."""
    doc: dict[str, Any] = yaml.safe_load(Path(__file__).with_name("providers.yaml").read_text())
    return doc


def _one_of(what: str, value: str, allowed: list[str], cloud: Cloud) -> str | None:
    if value in allowed:
        return None
    shown = ", ".join(allowed[:6]) + (", ..." if len(allowed) > 6 else "")
    return (
        f"{what} {value!r} is not offered on {cloud.value} ({shown}; "
        f"providers.yaml as of {offered()['as_of']})"
    )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodePool(_Model):
    """An autoscaled node pool."""

    machine_type: str | None = None
    min_nodes: int = Field(default=1, ge=0, le=100)
    max_nodes: int = Field(default=3, ge=1, le=100)
    spot: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> NodePool:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) > max_nodes ({self.max_nodes})")
        return self


class GpuPool(NodePool):
    """The GPU pool: tainted so only pods that tolerate ``nvidia.com/gpu`` land on it."""

    min_nodes: int = Field(default=0, ge=0, le=100)
    max_nodes: int = Field(default=2, ge=1, le=100)
    gpus_per_node: int = Field(default=1, ge=1, le=8)
    #: GCP only: the accelerator attached to each node.
    accelerator: str = "nvidia-tesla-t4"


class Database(_Model):
    """The PostgreSQL behind the MLflow tracking server."""

    instance_class: str | None = None
    storage_gb: int = Field(default=20, ge=20, le=4096)
    high_availability: bool = False
    backup_days: int = Field(default=7, ge=1, le=35)
    deletion_protection: bool = False


class PlatformSpec(_Model):
    """Everything that differs between two ML platforms, on any cloud."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,18}[a-z0-9]$")
    cloud: Cloud = Cloud.AWS
    environment: Literal["dev", "prod"] = "dev"
    region: str | None = None
    #: Availability zones to spread subnets and nodes over.
    zones: int = Field(default=2, ge=1, le=3)
    network_cidr: str = "10.40.0.0/16"
    #: Who may reach the Kubernetes API from outside the network (dev only; prod is private).
    admin_cidrs: tuple[str, ...] = ()
    kubernetes_version: str = "1.33"
    system_pool: NodePool = NodePool()
    gpu_pool: GpuPool = GpuPool()
    database: Database = Database()
    #: Days before old versions of artifacts are deleted.
    artifact_noncurrent_days: int = Field(default=30, ge=1, le=3650)
    owner: str = Field(default="ml-platform", pattern=r"^[a-z0-9-]+$")
    cost_center: str = Field(default="research", pattern=r"^[a-z0-9-]+$")
    #: GCP project id (GCP only).
    gcp_project: str = "my-ml-project"

    @field_validator("network_cidr")
    @classmethod
    def _network(cls, value: str) -> str:
        net = ipaddress.ip_network(value, strict=True)
        if not net.is_private or net.version != 4:
            raise ValueError(f"{value} is not a private IPv4 range")
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"{value}: use a /16 to /20 (room for {2 * 3} subnets and pods)")
        return value

    @field_validator("admin_cidrs")
    @classmethod
    def _admins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            net = ipaddress.ip_network(cidr, strict=True)
            if net.prefixlen < 8:
                raise ValueError(f"admin_cidrs: {cidr} is too wide to be an admin network")
        return value

    @model_validator(mode="after")
    def _offered(self) -> PlatformSpec:
        """The region and the Kubernetes version must exist on the chosen cloud: a typo would
        otherwise pass every offline check and fail only at ``pulumi up``."""
        data, cloud = offered(), self.cloud.value
        checks = [("kubernetes_version", self.kubernetes_version, data["kubernetes_versions"])]
        if self.region is not None:
            checks.insert(0, ("region", self.region, data["regions"]))
        found = (_one_of(what, value, table[cloud], self.cloud) for what, value, table in checks)
        problems = [p for p in found if p]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _prod_rules(self) -> PlatformSpec:
        if self.environment != "prod":
            return self
        problems = []
        if not self.database.high_availability:
            problems.append("database.high_availability must be true")
        if not self.database.deletion_protection:
            problems.append("database.deletion_protection must be true")
        if self.database.backup_days < 7:
            problems.append("database.backup_days must be at least 7")
        if self.zones < 2:
            problems.append("zones must be at least 2")
        if self.admin_cidrs:
            problems.append("admin_cidrs must be empty (the prod API server is private)")
        if problems:
            raise ValueError("a prod platform: " + "; ".join(problems))
        return self

    # -- derived values the components share ---------------------------------------------
    @property
    def resolved_region(self) -> str:
        return self.region or DEFAULT_REGION[self.cloud]

    @property
    def prod(self) -> bool:
        return self.environment == "prod"

    @property
    def prefix(self) -> str:
        """``<name>-<environment>``: the start of every physical name."""
        return f"{self.name}-{self.environment}"

    def gpu_machine_type(self) -> str:
        return self.gpu_pool.machine_type or DEFAULT_GPU_TYPE[self.cloud]

    def system_machine_type(self) -> str:
        return self.system_pool.machine_type or DEFAULT_SYSTEM_TYPE[self.cloud]

    def db_class(self) -> str:
        return self.database.instance_class or DEFAULT_DB_CLASS[self.cloud][self.environment]

    def subnets(self) -> dict[str, list[str]]:
        """Carve the network: a /20 (or smaller) private and public subnet per zone.

        Private subnets hold nodes (and on AWS the database); Azure delegates the ``database``
        block to PostgreSQL; public subnets hold only NAT gateways and load balancers.
        """
        net = ipaddress.ip_network(self.network_cidr)
        new_prefix = min(net.prefixlen + 4, 24)
        blocks = [str(b) for b in net.subnets(new_prefix=new_prefix)]
        return {
            "private": blocks[: self.zones],
            "database": blocks[4:5],
            "public": blocks[8 : 8 + self.zones],
        }

    def tags(self) -> dict[str, str]:
        """Tags (AWS, Azure) / labels (GCP) every taggable resource carries."""
        return {
            "project": self.name,
            "environment": self.environment,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
        }


REQUIRED_TAGS = ("project", "environment", "owner", "cost-center", "managed-by")


def stacks_dir() -> Path:
    """The shipped Pulumi project (``Pulumi.yaml`` and the stack files)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "stacks", here.parent / "stacks"):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    raise PulumimlError(f"the Pulumi project (stacks/Pulumi.yaml) is missing near {here}")


def stack_names(directory: Path | None = None) -> list[str]:
    """Stacks that have a ``Pulumi.<stack>.yaml`` file."""
    root = directory or stacks_dir()
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def spec_from_config(raw: Any, source: str) -> PlatformSpec:
    """Validate a ``pulumiml:platform`` object; errors name the field and the source."""
    if not isinstance(raw, dict):
        raise PulumimlError(f"{source}: {CONFIG_KEY} must be a mapping, got {type(raw).__name__}")
    try:
        return PlatformSpec.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "platform"
            lines.append(f"{where}: {err['msg']}")
        raise PulumimlError(f"{source}: invalid {CONFIG_KEY}: " + "; ".join(lines)) from None


def load_stack(
    stack: str, *, cloud: Cloud | str | None = None, directory: Path | None = None
) -> PlatformSpec:
    """The spec of ``stack`` from its stack file, optionally moved to another ``cloud``."""
    root = directory or stacks_dir()
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise PulumimlError(f"no stack {stack!r} (no {path.name}); stacks: {known}")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise PulumimlError(f"{path.name} is not valid YAML: {exc}") from None
    raw = (doc.get("config") or {}).get(CONFIG_KEY)
    if raw is None:
        raise PulumimlError(f"{path.name} has no {CONFIG_KEY} under config:")
    if cloud is not None:
        try:
            chosen = Cloud(cloud)
        except ValueError:
            choices = ", ".join(c.value for c in Cloud)
            raise PulumimlError(f"unknown cloud {cloud!r}; choose one of {choices}") from None
        if raw.get("cloud", Cloud.AWS.value) != chosen.value:
            # Another cloud: its own default region (the stack's region belongs to the old one).
            raw = {k: v for k, v in raw.items() if k != "region"} | {"cloud": chosen.value}
    return spec_from_config(raw, path.name)
