"""101-07 mlapi: a FastAPI service serving a torch classifier it trains itself.

The reference package of aiinfra-solutions: every later package copies its shape.
"""

from __future__ import annotations

__version__ = "0.1.0"
