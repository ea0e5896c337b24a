"""The MLModel resource: one schema for the CRD (OpenAPI v3) and for the operator (pydantic).

The API server validates objects against the CRD's ``openAPIV3Schema``; the emulator used in
tests does not, so the operator validates again with :class:`MLModelSpec` and writes what is
wrong into ``status`` (phase ``Invalid``) instead of crashing. The CRD's schema is generated
from the same model (:func:`crd_manifest`), and a test checks the shipped YAML matches.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aiinfra_shared.crd import crd_manifest as shared_crd

GROUP = "ml.aiinfra.dev"
VERSION = "v1alpha1"
PLURAL = "mlmodels"
KIND = "MLModel"
URI = re.compile(r"^(s3|gs|https?|file|models)://\S+$")


class Resources(BaseModel):
    """Requests and limits of one predictor container."""

    model_config = ConfigDict(extra="forbid")

    cpu: str = Field(default="250m", pattern=r"^\d+(\.\d+)?m?$")
    memory: str = Field(default="512Mi", pattern=r"^\d+(Ki|Mi|Gi)$")
    cpuLimit: str = Field(default="1", pattern=r"^\d+(\.\d+)?m?$")  # noqa: N815 (k8s casing)
    memoryLimit: str = Field(default="1Gi", pattern=r"^\d+(Ki|Mi|Gi)$")  # noqa: N815


class Autoscaling(BaseModel):
    """HPA bounds: on CPU utilisation."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    minReplicas: int = Field(default=1, ge=1, le=100)  # noqa: N815
    maxReplicas: int = Field(default=5, ge=1, le=100)  # noqa: N815
    targetCPUUtilization: int = Field(default=70, ge=10, le=100)  # noqa: N815

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.minReplicas > self.maxReplicas:
            raise ValueError(
                f"autoscaling.minReplicas ({self.minReplicas}) > maxReplicas ({self.maxReplicas})"
            )
        return self


class Rollout(BaseModel):
    """How a version change rolls out."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    maxSurge: str = Field(default="25%", pattern=r"^\d+%?$")  # noqa: N815
    maxUnavailable: str = Field(default="0", pattern=r"^\d+%?$")  # noqa: N815


class MLModelSpec(BaseModel):
    """``spec`` of an MLModel."""

    model_config = ConfigDict(extra="forbid")

    modelUri: str = Field(pattern=URI.pattern, description="Where the model artifact lives.")  # noqa: N815
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    image: str = Field(default="aiinfra/mlapi:0.1.0", min_length=1)
    replicas: int = Field(default=1, ge=0, le=100)
    port: int = Field(default=8000, ge=1, le=65535)
    resources: Resources = Field(default_factory=Resources)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    rollout: Rollout = Field(default_factory=Rollout)


def parse_spec(spec: dict[str, Any]) -> tuple[MLModelSpec | None, list[str]]:
    """The validated spec, or None and one message per problem (for ``status``)."""
    try:
        return MLModelSpec.model_validate(dict(spec)), []
    except ValidationError as exc:
        return None, [
            f"spec.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        ]


def crd_manifest() -> dict[str, Any]:
    """The CustomResourceDefinition, its schema generated from :class:`MLModelSpec`."""
    return shared_crd(
        MLModelSpec, group=GROUP, version=VERSION, kind=KIND, plural=PLURAL, short_names=["mlm"],
        columns=[("Version", "string", ".spec.version"), ("Replicas", "integer", ".spec.replicas"),
                 ("Phase", "string", ".status.phase")],
    )  # fmt: skip
