"""009-05: Alerting and incident response: Alertmanager webhooks into incidents, on-call,
escalation, runbooks, postmortems, MTTR
"""

from __future__ import annotations

__version__ = "0.1.0"
