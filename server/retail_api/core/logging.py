"""One-line JSON logs for the app and for uvicorn's own loggers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from typing import Any, TextIO

# Attributes every LogRecord has; anything else came in through `extra=` and is logged.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class AccessLog:
    """One JSON line per request, with the fields the other log lines have.

    Written straight to the stream, not through `logging`: a LogRecord plus the generic
    formatter cost ~20 µs a request, a fifth of a /health call. Method (httptools accepts
    only its known method tokens) and route (one of our templates) need no escaping; the
    client address goes through json.dumps; the time prefix is formatted once a second.
    `LOG_LEVEL=warning` turns it off (see `access_log_for`).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._second = -1
        self._prefix = ""

    def _time(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1000):03d}+00:00"

    def write(
        self,
        method: str,
        route: str,
        status: int,
        seconds: float,
        client: tuple[str, int] | None,
    ) -> None:
        peer = json.dumps(f"{client[0]}:{client[1]}") if client else "null"
        stream = self._stream or sys.stderr
        stream.write(
            f'{{"time":"{self._time(time.time())}","level":"info","logger":"retail_api.access",'
            f'"message":"request","method":"{method}","route":"{route}",'
            f'"status":{status},"duration_ms":{seconds * 1000:.3f},"client":{peer}}}\n'
        )


def access_log_for(level: str) -> AccessLog | None:
    """The access log when LOG_LEVEL lets info lines through, else None."""
    return AccessLog() if logging.getLevelName(level.upper()) <= logging.INFO else None


def logging_config(level: str) -> dict[str, Any]:
    """A dictConfig for uvicorn's ``log_config``: every logger goes to one JSON handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "level": level.upper(), "propagate": True}
            # py.warnings: Python warnings, once logging.captureWarnings routes them here.
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "retail_api", "py.warnings")
        },
    }
