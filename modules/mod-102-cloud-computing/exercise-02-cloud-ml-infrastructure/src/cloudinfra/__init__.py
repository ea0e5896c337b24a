"""102-02: Multi-cloud ML stacks in Terraform, checked offline.

SageMaker/EKS, Vertex/GKE and Azure ML/AKS.
"""

from __future__ import annotations

__version__ = "0.1.0"
