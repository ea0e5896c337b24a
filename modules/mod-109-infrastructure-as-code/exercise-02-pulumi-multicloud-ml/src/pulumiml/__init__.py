"""109-02: Pulumi component resources for AWS/GCP/Azure ML platforms, tested under Pulumi mocks"""

from __future__ import annotations

__version__ = "0.1.0"
