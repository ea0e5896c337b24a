"""101-04: Environment manager.

One spec, real venv/uv/poetry environments, hashed locks, drift checks, a Dockerfile.
"""

from __future__ import annotations

__version__ = "0.1.0"
