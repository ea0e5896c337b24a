"""101-06: FastAPI template generator: three golden-path service templates, answers file
and three-way update
"""

from __future__ import annotations

__version__ = "0.1.0"
