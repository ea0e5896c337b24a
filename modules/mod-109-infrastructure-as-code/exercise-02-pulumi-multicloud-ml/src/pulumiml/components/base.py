"""The cloud-agnostic component: one ``MLPlatform``, one implementation per cloud."""

from __future__ import annotations

from typing import ClassVar

import pulumi

from pulumiml.spec import Cloud, PlatformSpec

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_LABEL = {"workload": "gpu"}


class MLPlatform(pulumi.ComponentResource):
    """An ML platform: network, Kubernetes with a tainted GPU pool, artifact store, MLflow DB.

    Use :meth:`create` (it picks the cloud's subclass). Every subclass sets the same outputs,
    so a program or a test reads them without knowing the cloud.
    """

    cloud: ClassVar[Cloud]
    network_id: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    artifact_store: pulumi.Output[str]
    tracking_db_endpoint: pulumi.Output[str]
    workload_identity: pulumi.Output[str]

    def __init__(
        self, name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if spec.cloud != self.cloud:
            raise ValueError(
                f"{type(self).__name__} builds {self.cloud}, the spec says {spec.cloud}"
            )
        super().__init__(f"pulumiml:{self.cloud.value}:MLPlatform", name, None, opts)
        self.spec = spec
        self.child = pulumi.ResourceOptions(parent=self)
        self._build(name)
        self.register_outputs(
            {
                "network_id": self.network_id,
                "cluster_name": self.cluster_name,
                "artifact_store": self.artifact_store,
                "tracking_db_endpoint": self.tracking_db_endpoint,
                "workload_identity": self.workload_identity,
            }
        )

    def _build(self, name: str) -> None:
        raise NotImplementedError

    @staticmethod
    def create(
        name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None
    ) -> MLPlatform:
        """The platform for ``spec.cloud`` (imports only that cloud's SDK: they are big)."""
        import importlib

        module = importlib.import_module(f"pulumiml.components.{spec.cloud.value}")
        impl: type[MLPlatform] = getattr(module, f"{spec.cloud.name.title()}MLPlatform")
        return impl(name, spec, opts)
