"""Logging configured once, the same way in every package.

``configure()`` installs a Rich console handler (pretty, for people) or, when
``LOG_FORMAT=json`` is set, a one-object-per-line JSON handler (for log shippers).
Library code only does ``logger = logging.getLogger(__name__)``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_HANDLER_FLAG = "_aiinfra_handler"
#: Libraries that log every request at INFO; kept at WARNING so they do not drown our logs.
# httpx2/httpcore2: the httpx fork the openai 3.x client uses.
NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpx2",
    "httpcore2",
    "urllib3",
    "botocore",
    "kafka",
    "hpack",
)

#: Loggers whose warnings are about the client's own timing, not about our data: kafka-python
#: 3's selector warns whenever a task holds its event loop over 100 ms, which a busy 2-core
#: machine does all the time. Set to ERROR.
TIMING_WARNERS = ("kafka.net.selector",)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record.

        Args:
            record: The log record.

        Returns:
            A single line of JSON.
        """
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure(level: str | int | None = None, fmt: str | None = None) -> None:
    """Configure the root logger once (calling it again replaces our handler, never stacks).

    Args:
        level: Level name or number; defaults to ``$LOG_LEVEL`` or ``INFO``.
        fmt: ``"json"`` or ``"console"``; defaults to ``$LOG_FORMAT`` or ``console``.
    """
    level = level if level is not None else os.environ.get("LOG_LEVEL", "INFO")
    fmt = (fmt or os.environ.get("LOG_FORMAT", "console")).lower()
    if fmt not in {"json", "console"}:
        raise ValueError(f"LOG_FORMAT must be 'json' or 'console', got {fmt!r}")

    handler: logging.Handler
    if fmt == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        from rich.logging import RichHandler

        handler = RichHandler(rich_tracebacks=True, show_path=False, log_time_format="%H:%M:%S")
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    setattr(handler, _HANDLER_FLAG, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in TIMING_WARNERS:
        logging.getLogger(name).setLevel(logging.ERROR)
