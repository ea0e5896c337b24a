"""Build a platform under Pulumi's mocks and keep the resource graph it registered.

``pulumi.runtime.set_mocks`` replaces the engine and the providers with an in-process
monitor: the real SDK runs the real program, and every resource registration reaches
:class:`RecordingMocks` with its type token, name and fully resolved inputs. Nothing talks to a
cloud, no CLI or provider plugin is needed. The mocks answer like a provider would for the
few outputs a program reads back (ids, ARNs, names, e-mails, principal ids).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from pulumiml.spec import PlatformSpec

PROJECT = "pulumiml-platform"


@dataclass(frozen=True)
class Resource:
    """One registered resource: its type token (``aws:s3/bucket:Bucket``), name and inputs."""

    type: str
    name: str
    inputs: dict[str, Any]

    @property
    def cloud(self) -> str:
        return self.type.split(":", 1)[0]

    @property
    def short_type(self) -> str:
        """``s3/bucket:Bucket`` -> ``Bucket`` style name for tables."""
        return self.type.rsplit(":", 1)[-1]


@dataclass
class Graph:
    """The resources one program registered (components included, flagged by ``custom``)."""

    resources: list[Resource] = field(default_factory=list)
    components: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name_suffix: str = "") -> Resource:
        found = [r for r in self.of_type(type_token) if r.name.endswith(name_suffix)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources of {type_token} ending {name_suffix!r}")
        return found[0]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)


#: Which input becomes the ``name`` output of an Azure resource.
_AZURE_NAME_INPUT = {
    "ResourceGroup": "resourceGroupName",
    "VirtualNetwork": "virtualNetworkName",
    "Subnet": "subnetName",
    "StorageAccount": "accountName",
    "BlobContainer": "containerName",
    "ManagedCluster": "resourceName",
    "Server": "serverName",
    "UserAssignedIdentity": "resourceName",
    "PrivateZone": "privateZoneName",
}


SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def _fake_id(args: MockResourceArgs) -> str:
    """``<name>-id``; Azure ids look like ARM ids (policies read their scope from them)."""
    if args.typ.startswith("azure-native:"):
        _, module, kind = args.typ.split(":")
        return (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/"
            f"Microsoft.{module}/{kind}/{args.name}-id"
        )
    return f"{args.name}-id"


def _fake_state(args: MockResourceArgs) -> dict[str, Any]:
    """What a provider would add to the inputs: computed ids, ARNs, names, endpoints."""
    state = dict(args.inputs)
    cloud = args.typ.split(":", 1)[0]
    state.setdefault("name", args.name)
    if cloud == "aws":
        service = args.typ.split(":")[1].split("/")[0]
        state.setdefault("arn", f"arn:aws:{service}:us-east-1:123456789012:{args.name}")
        if args.typ == "aws:s3/bucket:Bucket":
            state.setdefault("bucket", f"{state.get('bucketPrefix', args.name)}0001")
            state["arn"] = f"arn:aws:s3:::{state['bucket']}"
        if args.typ == "aws:rds/instance:Instance":
            state.setdefault("endpoint", f"{args.name}.cluster.local:5432")
    elif cloud == "gcp":
        state.setdefault("selfLink", f"https://www.googleapis.com/{args.typ}/{args.name}")
        if args.typ == "gcp:serviceaccount/account:Account":
            state.setdefault(
                "email", f"{state.get('accountId', args.name)}@project.iam.gserviceaccount.com"
            )
        if args.typ == "gcp:sql/databaseInstance:DatabaseInstance":
            state.setdefault("privateIpAddress", "10.99.0.3")
    elif cloud == "azure-native":
        kind = args.typ.rsplit(":", 1)[-1]
        if kind in _AZURE_NAME_INPUT and _AZURE_NAME_INPUT[kind] in args.inputs:
            state["name"] = args.inputs[_AZURE_NAME_INPUT[kind]]
        state.setdefault("principalId", f"{args.name}-principal")
        state.setdefault("clientId", f"{args.name}-client")
        if args.typ.endswith(":Server"):
            state.setdefault("fullyQualifiedDomainName", f"{args.name}.postgres.database.azure.com")
        if args.typ.endswith(":ManagedCluster"):
            state.setdefault("oidcIssuerProfile", {"issuerURL": "https://oidc.example/issuer"})
    return state


class RecordingMocks(Mocks):
    """Pulumi mocks that keep every registration in a :class:`Graph`."""

    def __init__(self) -> None:
        self.graph = Graph()
        self._lock = threading.Lock()

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        record = Resource(type=args.typ, name=args.name, inputs=dict(args.inputs))
        with self._lock:
            (self.graph.resources if args.custom else self.graph.components).append(record)
        return _fake_id(args), _fake_state(args)

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        """Invokes (data sources): the result and no check failures (an empty list: pulumi
        iterates it, whatever its annotation says)."""
        gcs_agent = "gcp:storage/getProjectServiceAccount:getProjectServiceAccount"
        if args.token == gcs_agent:
            return {"emailAddress": "service-1@gs-project-accounts.iam.gserviceaccount.com"}, []
        if args.token == "azure-native:authorization:getClientConfig":  # noqa: S105
            client = {
                "clientId": "client",
                "objectId": "object",
                "subscriptionId": SUBSCRIPTION,
                "tenantId": "tenant",
            }
            return client, []
        return {}, []


def synthesize(
    spec: PlatformSpec,
    program: Callable[[PlatformSpec], dict[str, Any]] | None = None,
    *,
    stack: str = "test",
) -> Graph:
    """Run ``program(spec)`` (default: one :class:`MLPlatform`) under mocks; its graph."""
    from pulumiml.program import build

    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    run = program or build
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # pulumi leaves it untyped
    def _run() -> pulumi.Output[Any]:
        exported = run(spec)
        keys = list(exported)
        return pulumi.Output.all(*exported.values()).apply(
            lambda values: outputs.update(zip(keys, values, strict=True))
        )

    _run()
    # The engine registers resources concurrently: sort them, so every report lists them in
    # the same order whatever the scheduling was.
    mocks.graph.resources.sort(key=lambda r: (r.type, r.name))
    mocks.graph.components.sort(key=lambda r: (r.type, r.name))
    mocks.graph.outputs = outputs
    return mocks.graph
