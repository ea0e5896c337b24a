"""Component resources: :class:`MLPlatform` and its AWS, GCP and Azure implementations."""

from pulumiml.components.base import GPU_TAINT_KEY, MLPlatform

__all__ = ["GPU_TAINT_KEY", "MLPlatform"]
