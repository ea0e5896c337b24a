"""Alertmanager routing: who hears about which alert, grouped how, and what silences what.

The tree (first match wins unless ``continue`` is set)::

    route (receiver: default, group_by: [alertname, service])
    ├── severity="page"                 -> pager      (continue: the team hears it too)
    ├── team="ml"                       -> ml-team
    └── team="platform"                 -> platform

Inhibition: a firing ``page`` alert mutes the ``ticket`` alerts of the same service and SLO
(the page already says it), and ``TargetDown`` mutes every other alert of that job (a service
that is down has no latency worth a ticket).

Every receiver is a webhook (``send_resolved: true``): the stack's store records what each one
got, so a test can assert that an alert reached the right people and later resolved.
"""

from __future__ import annotations

from typing import Any

RECEIVERS = ("default", "pager", "ml-team", "platform")


def build(webhook_base: str, *, fast: bool = False) -> dict[str, Any]:
    """The Alertmanager config.

    Args:
        webhook_base: Base URL of the webhook inbox; receiver ``r`` posts to ``{base}/r``.
        fast: Demo timing (notify at once, re-notify groups every second) instead of the
            production defaults (30 s group wait, 5 m group interval, 4 h repeat).
    """
    timing = (
        {"group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"}
        if fast
        else {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
    )
    base = webhook_base.rstrip("/")
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "default",
            "group_by": ["alertname", "service"],
            **timing,
            "routes": [
                {"receiver": "pager", "matchers": ['severity="page"'], "continue": True},
                {"receiver": "ml-team", "matchers": ['team="ml"']},
                {"receiver": "platform", "matchers": ['team="platform"']},
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="page"'],
                "target_matchers": ['severity="ticket"'],
                "equal": ["service", "slo"],
            },
            {
                "source_matchers": ['alertname="TargetDown"'],
                "target_matchers": ['alertname!="TargetDown"'],
                "equal": ["job"],
            },
        ],
        "receivers": [
            {
                "name": name,
                "webhook_configs": [
                    {"url": f"{base}/{name}", "send_resolved": True, "max_alerts": 0}
                ],
            }
            for name in RECEIVERS
        ],
    }
