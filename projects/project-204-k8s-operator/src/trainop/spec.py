"""The MLTrainingJob resource: one pydantic model for the operator and the CRD's schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aiinfra_shared.crd import crd_manifest as shared_crd

GROUP = "ml.aiinfra.dev"
VERSION = "v1alpha1"
PLURAL = "mltrainingjobs"
KIND = "MLTrainingJob"
QUOTA_ANNOTATION = "ml.aiinfra.dev/gpu-quota"


class Checkpoint(BaseModel):
    """A PersistentVolumeClaim every worker mounts (checkpoints survive retries)."""

    model_config = ConfigDict(extra="forbid")

    size: str = Field(default="10Gi", pattern=r"^\d+(Mi|Gi|Ti)$")
    storageClassName: str | None = None  # noqa: N815 (Kubernetes casing)
    mountPath: str = Field(default="/checkpoints", pattern=r"^/\S*$")  # noqa: N815


class Mlflow(BaseModel):
    """Where the job logs; the operator puts the run link in status."""

    model_config = ConfigDict(extra="forbid")

    trackingUri: str = Field(pattern=r"^https?://\S+$")  # noqa: N815
    experiment: str = Field(default="default", min_length=1)


class MLTrainingJobSpec(BaseModel):
    """``spec`` of an MLTrainingJob."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(min_length=1)
    command: list[str] = Field(min_length=1)
    workers: int = Field(default=1, ge=1, le=64)
    gpusPerWorker: int = Field(default=0, ge=0, le=8)  # noqa: N815
    cpu: str = Field(default="1", pattern=r"^\d+(\.\d+)?m?$")
    memory: str = Field(default="4Gi", pattern=r"^\d+(Mi|Gi)$")
    hyperparameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    checkpoint: Checkpoint = Field(default_factory=Checkpoint)
    backoffLimit: int = Field(default=3, ge=0, le=10)  # noqa: N815
    backoffSeconds: float = Field(default=30, gt=0, le=3600)  # noqa: N815
    activeDeadlineSeconds: int | None = Field(default=None, ge=1)  # noqa: N815
    cleanupPolicy: Literal["Delete", "Keep"] = "Delete"  # noqa: N815
    mlflow: Mlflow | None = None

    @property
    def gpus(self) -> int:
        return self.workers * self.gpusPerWorker


def parse_spec(spec: dict[str, Any]) -> tuple[MLTrainingJobSpec | None, list[str]]:
    """The validated spec, or None and one message per problem (for ``status``)."""
    try:
        return MLTrainingJobSpec.model_validate(dict(spec)), []
    except ValidationError as exc:
        return None, [
            f"spec.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        ]


def crd_manifest() -> dict[str, Any]:
    """The CustomResourceDefinition, its schema generated from :class:`MLTrainingJobSpec`."""
    return shared_crd(
        MLTrainingJobSpec, group=GROUP, version=VERSION, kind=KIND, plural=PLURAL,
        short_names=["mltj"],
        columns=[("Workers", "integer", ".spec.workers"),
                 ("GPUs/worker", "integer", ".spec.gpusPerWorker"),
                 ("Phase", "string", ".status.phase"), ("Attempt", "integer", ".status.attempt")],
    )  # fmt: skip
