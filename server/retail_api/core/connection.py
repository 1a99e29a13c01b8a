"""Pieces of the connection layer (core/protocol.py) that need no protocol state: its
limits, its deadline timer, the scope of an answer it gives through the app, and the
lingering close."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from retail_api.core.config import Settings

# Where the connection layer asks the app to answer for it: (status, detail).
REJECT_EXTENSION = "retail_api.reject"
# In a request's scope once its whole body is buffered (core/protocol.py, api/body.py).
BODY_COMPLETE_EXTENSION = "retail_api.body_complete"
# Closing a socket with unread request bytes makes the kernel send a reset, which can reach
# the client before it reads the answer (RFC 9112 section 9.6). So after answering early the
# server stops sending, reads and drops what still comes, and closes when the client does,
# or after these bounds, whichever is first (nginx's lingering_close does the same).
LINGER_SECONDS = 2.0
LINGER_BYTES = 4 * 1024 * 1024


class LingeringTransport:
    """What a request's response cycle closes: a lingering close on the real transport."""

    def __init__(self, transport: asyncio.Transport, linger: Callable[[], None]) -> None:
        self._transport = transport
        self._linger = linger
        self.write = transport.write
        self.is_closing = transport.is_closing

    def close(self) -> None:
        self._linger()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class Deadline:
    """One connection's deadline: `expire` runs when it passes, unless moved or disarmed.

    One timer per connection, moved only when a deadline comes earlier than it: a request on
    a busy keep-alive connection changes a float, not the loop's timer heap.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, expire: Callable[[], None]) -> None:
        self._loop = loop
        self._expire = expire
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0
        self._due: float | None = None

    def arm(self, seconds: float) -> None:
        due = self._loop.time() + seconds
        self._due = due
        if self._timer is None or self._timer_due > due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_due = self._loop.call_at(due, self._fire), due

    def disarm(self) -> None:
        self._due = None

    def cancel(self) -> None:
        self._due = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        if self._due is None:
            return
        if self._loop.time() < self._due:  # a later deadline replaced the one this timer had
            self._timer, self._timer_due = self._loop.call_at(self._due, self._fire), self._due
            return
        self._due = None
        self._expire()


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    keep_alive_timeout: float
    max_header_bytes: int
    max_header_line_bytes: int
    max_headers: int
    max_body_bytes: int


@functools.cache
def connection_limits() -> ConnectionLimits:
    """Read once per worker from the environment the app's Settings come from."""
    settings = Settings()
    return ConnectionLimits(
        header_timeout=settings.header_timeout,
        keep_alive_timeout=settings.keep_alive_timeout,
        max_header_bytes=settings.max_header_bytes,
        max_header_line_bytes=settings.max_header_line_bytes,
        max_headers=settings.max_headers,
        max_body_bytes=settings.max_body_bytes,
    )


def refusal_scope(connection: dict[str, Any], method: str, status: int, detail: str) -> Any:
    """The HTTP scope of an answer given before a request could be parsed: no path, no
    headers, the refusal in its extensions (the middleware answers it)."""
    return {
        "type": "http",
        "http_version": "1.1",
        **connection,
        "headers": [],
        "method": method,
        "path": "",
        "raw_path": b"",
        "query_string": b"",
        "extensions": {REJECT_EXTENSION: (status, detail)},
    }
