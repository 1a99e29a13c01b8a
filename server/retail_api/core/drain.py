"""Graceful stop: the moment SIGTERM reaches a worker, and how long work may still take.

uvicorn stops accepting connections on SIGTERM, waits for in-flight requests for its
graceful period, then cancels them; a cancelled request would end as a 500 with a traceback.
The protocol (core/protocol.py) starts the drain when uvicorn asks each connection to shut
down; from then on readiness is 503, and work that cannot finish inside the period is
answered 503 + `Connection: close` before uvicorn has to cancel it.
"""

from __future__ import annotations

import asyncio
import time

# Where the lifespan puts the worker's Drain in uvicorn's per-server state.
DRAIN_STATE_KEY = "retail_api.drain"
# Answers for queued work go out this long before uvicorn's own cancellation.
SAFETY_SECONDS = 1.0


class Drain:
    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self._deadline: float | None = None
        self._started: asyncio.Event | None = None

    @property
    def draining(self) -> bool:
        return self._deadline is not None

    def begin(self) -> None:
        if self._deadline is None:
            self._deadline = time.monotonic() + max(self.grace_seconds - SAFETY_SECONDS, 0.0)
            if self._started is not None:
                self._started.set()

    def seconds_left(self) -> float | None:
        """Time left for work before the stop, or None while the worker is not stopping."""
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.0)

    async def wait(self) -> None:
        """Return once the drain has begun."""
        if self._started is None:
            self._started = asyncio.Event()
            if self._deadline is not None:
                self._started.set()
        await self._started.wait()
