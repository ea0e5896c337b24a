"""201: Ray training platform: job specs to TorchTrainer with fault tolerance, Ray Tune ASHA search, MLflow tracking, KubeRay"""

from __future__ import annotations

__version__ = "0.1.0"
