"""The API's logs: one JSON line per record on stderr, each with the request id.

``{"ts": "...", "level": "info", "logger": "platform_defs.api.access", "request_id": "...",
"message": "POST /api/v1/output-ports/.../usage-stats 202", "method": "POST", "path": "...",
"status": 202, "duration_ms": 12.5}``
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_EXTRA_FIELDS = ("method", "path", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for name in _EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def log_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and the API's loggers."""
    level = level.upper()
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "platform_defs.api.requestid.RequestIdFilter"}},
        "formatters": {"json": {"()": "platform_defs.api.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            "platform_defs.api": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
        },
    }
