"""008-05: Cost optimization: rightsizing with headroom, spot training that survives interruptions,
idle shutdown schedules and budgets acting on EC2 (moto)
"""

from __future__ import annotations

__version__ = "0.1.0"
