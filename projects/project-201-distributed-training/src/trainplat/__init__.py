"""201: a training platform on Ray.

Job specs run as Ray Train TorchTrainer jobs with fault tolerance and checkpoints, Ray Tune
(ASHA) searches over the same loop, MLflow tracking, KubeRay manifests.
"""

from __future__ import annotations

__version__ = "0.1.0"
