"""Policies over a resource graph, in the spirit of Pulumi CrossGuard, run under mocks.

Each policy reads the registered resources (type token + resolved inputs, see
:mod:`pulumiml.graph`) and returns violations. They know all three clouds, and they are written
against resources, not against our components: a hand-written bucket without encryption or a
security group open to the internet fails them just the same (the tests build such fixtures).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pulumiml.graph import Graph, Resource
from pulumiml.spec import REQUIRED_TAGS

OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
AZURE_ANY = {"*", "0.0.0.0/0", "internet", "any", "::/0"}
GPU_TAINT = "nvidia.com/gpu"


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    message: str


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    check: Callable[[Graph, str], Iterable[Violation]]
    #: Only evaluated for prod stacks.
    prod_only: bool = False


@dataclass
class PolicyReport:
    """Per policy: how many violations; :attr:`violations` has the details."""

    results: dict[str, list[Violation]]
    environment: str

    @property
    def violations(self) -> list[Violation]:
        return [v for vs in self.results.values() for v in vs]

    @property
    def ok(self) -> bool:
        return not self.violations

    def failed(self) -> list[str]:
        return [name for name, vs in self.results.items() if vs]


def _get(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _v(policy: str, r: Resource, message: str) -> Violation:
    return Violation(policy, f"{r.short_type} {r.name}", message)


# -- encryption at rest ---------------------------------------------------------------------


def _encryption(graph: Graph, _env: str) -> Iterable[Violation]:
    name = "encryption-at-rest"
    sse_buckets = {
        r.inputs.get("bucket")
        for r in graph.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        if any(
            _get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
            in {"aws:kms", "aws:kms:dsse"}
            for rule in r.inputs.get("rules") or []
        )
    }
    for r in graph:
        t, i = r.type, r.inputs
        if t == "aws:s3/bucket:Bucket" and f"{r.name}-id" not in sse_buckets:
            yield _v(name, r, "no SSE-KMS configuration targets this bucket")
        elif t == "aws:rds/instance:Instance" and not i.get("storageEncrypted"):
            yield _v(name, r, "storage_encrypted is not true")
        elif t == "aws:eks/cluster:Cluster" and "secrets" not in (
            _get(i, "encryptionConfig.resources") or []
        ):
            yield _v(name, r, "Kubernetes secrets are not envelope-encrypted with KMS")
        elif t == "gcp:storage/bucket:Bucket" and not _get(i, "encryption.defaultKmsKeyName"):
            yield _v(name, r, "no customer-managed key (encryption.default_kms_key_name)")
        elif t == "gcp:sql/databaseInstance:DatabaseInstance" and not i.get("encryptionKeyName"):
            yield _v(name, r, "no customer-managed key (encryption_key_name)")
        elif t == "gcp:container/cluster:Cluster" and _get(i, "databaseEncryption.state") != (
            "ENCRYPTED"
        ):
            yield _v(name, r, "etcd secrets are not encrypted with Cloud KMS")
        elif t == "azure-native:storage:StorageAccount":
            if _get(i, "encryption.services.blob.enabled") is not True:
                yield _v(name, r, "blob encryption is not enabled")
            if i.get("enableHttpsTrafficOnly") is not True:
                yield _v(name, r, "HTTP (not only HTTPS) traffic is allowed")


# -- nothing public -------------------------------------------------------------------------


def _public_storage(graph: Graph, _env: str) -> Iterable[Violation]:
    name = "no-public-storage"
    blocked = {
        r.inputs.get("bucket")
        for r in graph.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if all(
            r.inputs.get(k)
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
    }
    for r in graph:
        t, i = r.type, r.inputs
        if t == "aws:s3/bucket:Bucket":
            if f"{r.name}-id" not in blocked:
                yield _v(name, r, "no public access block with all four settings on")
            if i.get("acl") in {"public-read", "public-read-write"}:
                yield _v(name, r, f"ACL {i['acl']}")
        elif t == "gcp:storage/bucket:Bucket":
            if i.get("publicAccessPrevention") != "enforced":
                yield _v(name, r, "public_access_prevention is not 'enforced'")
            if not i.get("uniformBucketLevelAccess"):
                yield _v(name, r, "uniform bucket-level access is off (object ACLs allowed)")
        elif (
            t.startswith("gcp:")
            and "IAM" in t
            and i.get("member")
            in {
                "allUsers",
                "allAuthenticatedUsers",
            }
        ):
            yield _v(name, r, f"grants {i['member']}")
        elif (
            t == "azure-native:storage:StorageAccount"
            and i.get("allowBlobPublicAccess") is not False
        ):
            yield _v(name, r, "allow_blob_public_access is not false")
        elif t == "azure-native:storage:BlobContainer" and i.get("publicAccess") not in (
            None,
            "None",
        ):
            yield _v(name, r, f"public_access={i.get('publicAccess')}")


def _open_ingress(graph: Graph, _env: str) -> Iterable[Violation]:
    name = "no-open-ingress"
    for r in graph:
        t, i = r.type, r.inputs
        if t == "aws:ec2/securityGroup:SecurityGroup":
            for rule in i.get("ingress") or []:
                cidrs = set(rule.get("cidrBlocks") or []) | set(rule.get("ipv6CidrBlocks") or [])
                if cidrs & OPEN_CIDRS:
                    ports = f"{rule.get('fromPort'):.0f}-{rule.get('toPort'):.0f}"
                    yield _v(name, r, f"ingress {ports} open to {sorted(cidrs & OPEN_CIDRS)}")
        elif t in {
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        }:
            if (
                i.get("type", "ingress") == "ingress"
                and (set(i.get("cidrBlocks") or []) | {i.get("cidrIpv4"), i.get("cidrIpv6")})
                & OPEN_CIDRS
            ):
                yield _v(name, r, "ingress rule open to the internet")
        elif (
            t == "gcp:compute/firewall:Firewall"
            and i.get("direction", "INGRESS") == "INGRESS"
            and i.get("allows")
            and set(i.get("sourceRanges") or []) & OPEN_CIDRS
        ):
            yield _v(name, r, "firewall allows ingress from 0.0.0.0/0")
        elif t == "azure-native:network:NetworkSecurityGroup":
            for rule in i.get("securityRules") or []:
                sources = {str(rule.get("sourceAddressPrefix", "")).lower()} | {
                    str(s).lower() for s in rule.get("sourceAddressPrefixes") or []
                }
                if (
                    rule.get("direction") == "Inbound"
                    and rule.get("access") == "Allow"
                    and sources & AZURE_ANY
                ):
                    yield _v(name, r, f"rule {rule.get('name')} allows inbound from anywhere")


def _database_private(graph: Graph, _env: str) -> Iterable[Violation]:
    name = "database-private"
    for r in graph:
        t, i = r.type, r.inputs
        if t == "aws:rds/instance:Instance" and i.get("publiclyAccessible"):
            yield _v(name, r, "publicly_accessible is true")
        elif t == "gcp:sql/databaseInstance:DatabaseInstance":
            if _get(i, "settings.ipConfiguration.ipv4Enabled") is not False:
                yield _v(name, r, "has a public IPv4 address (ipv4_enabled is not false)")
        elif (
            t == "azure-native:dbforpostgresql:Server"
            and _get(i, "network.publicNetworkAccess") != "Disabled"
        ):
            yield _v(name, r, "public network access is not disabled")


# -- GPU pools ------------------------------------------------------------------------------


def _is_gpu_pool(r: Resource) -> tuple[bool, list[str]]:
    """(is this a GPU node pool, its taints as ``key=value:Effect``)."""
    i = r.inputs
    if r.type == "aws:eks/nodeGroup:NodeGroup":
        types = i.get("instanceTypes") or []
        gpu = "NVIDIA" in str(i.get("amiType", "")) or any(
            t.split(".")[0].rstrip("0123456789dn").lower() in {"g", "p"} for t in types
        )
        taints = [
            f"{t.get('key')}={t.get('value')}:{t.get('effect')}" for t in i.get("taints") or []
        ]
        return gpu, taints
    if r.type == "gcp:container/nodePool:NodePool":
        gpu = bool(_get(i, "nodeConfig.guestAccelerators"))
        raw = _get(i, "nodeConfig.taints") or []
        return gpu, [f"{t.get('key')}={t.get('value')}:{t.get('effect')}" for t in raw]
    if r.type == "azure-native:containerservice:AgentPool":
        return "_N" in str(i.get("vmSize", "")), list(i.get("nodeTaints") or [])
    return False, []


def _gpu_tainted(graph: Graph, _env: str) -> Iterable[Violation]:
    name = "gpu-nodes-tainted"
    for r in graph:
        gpu, taints = _is_gpu_pool(r)
        if gpu and not any(
            t.startswith(f"{GPU_TAINT}=") and t.split(":")[-1] in {"NO_SCHEDULE", "NoSchedule"}
            for t in taints
        ):
            yield _v(
                name, r, f"GPU pool without a {GPU_TAINT} NoSchedule taint: CPU pods land on GPUs"
            )


# -- tags -----------------------------------------------------------------------------------

#: Where a resource type keeps its tags/labels ("tags" unless listed); None: it has none.
TAG_PATHS: dict[str, str | None] = {
    "aws:ec2/routeTableAssociation:RouteTableAssociation": None,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": None,
    "aws:iam/rolePolicy:RolePolicy": None,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": None,
    "aws:s3/bucketVersioning:BucketVersioning": None,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": None,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": None,
    "aws:s3/bucketPolicy:BucketPolicy": None,
    "gcp:compute/network:Network": None,
    "gcp:compute/subnetwork:Subnetwork": None,
    "gcp:compute/router:Router": None,
    "gcp:compute/routerNat:RouterNat": None,
    "gcp:compute/firewall:Firewall": None,
    "gcp:kms/keyRing:KeyRing": None,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": None,
    "gcp:projects/iAMMember:IAMMember": None,
    "gcp:serviceaccount/account:Account": None,
    "gcp:serviceaccount/iAMMember:IAMMember": None,
    "gcp:servicenetworking/connection:Connection": None,
    "gcp:storage/bucketIAMMember:BucketIAMMember": None,
    "gcp:kms/cryptoKey:CryptoKey": "labels",
    "gcp:storage/bucket:Bucket": "labels",
    "gcp:compute/globalAddress:GlobalAddress": "labels",
    "gcp:container/cluster:Cluster": "resourceLabels",
    "gcp:container/nodePool:NodePool": "nodeConfig.resourceLabels",
    "gcp:sql/databaseInstance:DatabaseInstance": "settings.userLabels",
    "azure-native:network:Subnet": None,
    "azure-native:storage:BlobServiceProperties": None,
    "azure-native:storage:BlobContainer": None,
    "azure-native:managedidentity:FederatedIdentityCredential": None,
    "azure-native:authorization:RoleAssignment": None,
}


def _tags(graph: Graph, _env: str) -> Iterable[Violation]:
    name = "tags-required"
    for r in graph:
        if r.cloud == "gcp" and r.type not in TAG_PATHS:
            yield _v(name, r, "type not in TAG_PATHS: say where its labels live (or None)")
            continue
        path = TAG_PATHS.get(r.type, "tags")
        if path is None:
            continue
        tags = _get(r.inputs, path) or {}
        missing = [k for k in REQUIRED_TAGS if not tags.get(k)]
        if missing:
            yield _v(name, r, f"missing {', '.join(missing)} in {path}")


# -- least privilege ------------------------------------------------------------------------

BROAD_GCP_ROLES = {"roles/owner", "roles/editor", "roles/storage.admin", "roles/iam.securityAdmin"}
#: Owner, Contributor, User Access Administrator.
BROAD_AZURE_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "18d7d88d-d35a-4fb5-a5c3-7773c20a72d9",
}


def _least_privilege(graph: Graph, _env: str) -> Iterable[Violation]:
    name = "least-privilege"
    for r in graph:
        t, i = r.type, r.inputs
        if t in {"aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"}:
            try:
                doc = json.loads(i.get("policy") or "{}")
            except json.JSONDecodeError:
                yield _v(name, r, "policy is not JSON")
                continue
            for stmt in doc.get("Statement", []):
                if stmt.get("Effect") != "Allow":
                    continue
                actions = stmt.get("Action", [])
                resources = stmt.get("Resource", [])
                actions = [actions] if isinstance(actions, str) else actions
                resources = [resources] if isinstance(resources, str) else resources
                if any(a == "*" or a.endswith(":*") for a in actions):
                    yield _v(name, r, f"wildcard action {actions}")
                if "*" in resources:
                    yield _v(name, r, "Resource '*'")
        elif t == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and str(
            i.get("policyArn", "")
        ).endswith(("/AdministratorAccess", "/PowerUserAccess", "/AmazonS3FullAccess")):
            yield _v(name, r, f"attaches {i['policyArn']}")
        elif t.startswith("gcp:") and "IAM" in t and i.get("role") in BROAD_GCP_ROLES:
            yield _v(name, r, f"grants {i['role']}")
        elif t == "azure-native:authorization:RoleAssignment":
            role = str(i.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
            scope = str(i.get("scope", ""))
            if role in BROAD_AZURE_ROLES:
                yield _v(name, r, "assigns Owner/Contributor/User Access Administrator")
            if scope.rstrip("/").count("/") <= 2:  # "/subscriptions/<id>" (or wider)
                yield _v(name, r, f"scoped to a whole subscription ({scope})")


# -- prod hardening -------------------------------------------------------------------------


def _prod(graph: Graph, _env: str) -> Iterable[Violation]:
    name = "prod-hardening"
    for r in graph:
        t, i = r.type, r.inputs
        if t == "aws:rds/instance:Instance":
            if not i.get("multiAz"):
                yield _v(name, r, "not Multi-AZ")
            if not i.get("deletionProtection"):
                yield _v(name, r, "deletion protection off")
        elif t == "aws:eks/cluster:Cluster" and _get(i, "vpcConfig.endpointPublicAccess"):
            yield _v(name, r, "public API endpoint")
        elif t == "gcp:sql/databaseInstance:DatabaseInstance":
            if _get(i, "settings.availabilityType") != "REGIONAL":
                yield _v(name, r, "not REGIONAL (no standby)")
            if not i.get("deletionProtection"):
                yield _v(name, r, "deletion protection off")
        elif t == "gcp:container/cluster:Cluster" and not _get(
            i, "privateClusterConfig.enablePrivateEndpoint"
        ):
            yield _v(name, r, "public API endpoint")
        elif t == "azure-native:dbforpostgresql:Server" and _get(i, "highAvailability.mode") in (
            None,
            "Disabled",
        ):
            yield _v(name, r, "no high availability")
        elif t == "azure-native:containerservice:ManagedCluster" and not _get(
            i, "apiServerAccessProfile.enablePrivateCluster"
        ):
            yield _v(name, r, "public API server")


POLICIES: tuple[Policy, ...] = (
    Policy(
        "encryption-at-rest", "storage, databases and secrets encrypted (KMS/CMEK)", _encryption
    ),
    Policy("no-public-storage", "buckets/containers cannot be made public", _public_storage),
    Policy("no-open-ingress", "nothing accepts traffic from 0.0.0.0/0", _open_ingress),
    Policy("database-private", "databases have no public endpoint", _database_private),
    Policy("gpu-nodes-tainted", "GPU pools tainted nvidia.com/gpu:NoSchedule", _gpu_tainted),
    Policy("tags-required", f"every taggable resource has {', '.join(REQUIRED_TAGS)}", _tags),
    Policy("least-privilege", "no wildcard IAM, no owner/editor roles", _least_privilege),
    Policy("prod-hardening", "prod: HA databases, deletion protection, private API", _prod, True),
)


def evaluate(graph: Graph, environment: str = "dev") -> PolicyReport:
    """Run every policy that applies to ``environment`` over ``graph``."""
    results = {
        p.name: list(p.check(graph, environment))
        for p in POLICIES
        if environment == "prod" or not p.prod_only
    }
    return PolicyReport(results=results, environment=environment)
