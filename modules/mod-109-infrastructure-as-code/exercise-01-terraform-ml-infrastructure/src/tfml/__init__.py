"""109-01: Reusable Terraform modules for ML infrastructure.

Validated, policy-checked and costed offline.
"""

from __future__ import annotations

__version__ = "0.1.0"
