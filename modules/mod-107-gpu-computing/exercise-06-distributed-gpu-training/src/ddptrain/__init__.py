"""107-06: distributed data-parallel training.

torch DDP (gloo on CPU, NCCL on GPU) and Ray Train over one training core, checkpoint/resume,
a scaling benchmark.
"""

from __future__ import annotations

__version__ = "0.1.0"
