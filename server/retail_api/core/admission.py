"""Admission control: how much work one worker holds at once, and a fast 503 past it.

Each request reserves the body bytes it may hold (its Content-Length, or the body limit
when the length is not declared) before a byte of the body is buffered: the connection layer
does it as the headers complete (core/protocol.py), the route when there is none (tests); a
batch also takes one of a few batch places (queued or running). A request that does not
fit is answered 503 with `Retry-After` at once: its body is never read, so neither memory
nor CPU grows with the number of clients, only with these two bounds (core/config.py).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from retail_api.core.drain import Drain

# Where the lifespan puts the worker's Admission in uvicorn's per-server state, and the
# scope extension that says the connection layer already reserved this request's bytes.
ADMISSION_STATE_KEY = "retail_api.admission"
ADMITTED_EXTENSION = "retail_api.admitted"


class OverloadedError(Exception):
    """Past the worker's bound on in-flight work; answered 503 + Retry-After."""


class Admission:
    def __init__(self, max_body_bytes: int, max_batches: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_batches = max_batches
        self.body_bytes = 0
        self.batches = 0

    def ticket(self, body_bytes: int, batch: bool = False) -> Ticket:
        """Reserve `body_bytes` (and a batch place) or raise OverloadedError."""
        if self.body_bytes + body_bytes > self.max_body_bytes:
            raise OverloadedError(
                f"server busy: {self.body_bytes} body bytes in flight, limit "
                f"{self.max_body_bytes}; retry later"
            )
        if batch and self.batches >= self.max_batches:
            raise OverloadedError(
                f"server busy: {self.batches} batches in flight, limit {self.max_batches}; "
                "retry later"
            )
        self.body_bytes += body_bytes
        self.batches += batch
        return Ticket(self, body_bytes, batch)


class Ticket:
    """Held for the whole request (body, parse, predict); released on exit."""

    __slots__ = ("_admission", "_batch", "_body_bytes")

    def __init__(self, admission: Admission, body_bytes: int, batch: bool) -> None:
        self._admission, self._body_bytes, self._batch = admission, body_bytes, int(batch)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()

    def release(self) -> None:
        self._admission.body_bytes -= self._body_bytes
        self._admission.batches -= self._batch
        self._body_bytes = self._batch = 0  # a second release changes nothing


class BatchLane:
    """Where admitted batches take turns to parse and predict, `concurrency` at a time.

    A batch still waiting when the worker starts stopping waits only as long as the drain
    leaves (core/drain.py); one that gets no turn by then is answered 503, not cancelled.
    """

    def __init__(self, concurrency: int, drain: Drain) -> None:
        self._turns = asyncio.Semaphore(concurrency)
        self._drain = drain

    async def _wait_for_turn(self) -> None:
        while (left := self._drain.seconds_left()) is None:
            turn = asyncio.ensure_future(self._turns.acquire())
            stop = asyncio.ensure_future(self._drain.wait())
            try:
                await asyncio.wait((turn, stop), return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                got_turn = turn.done() and not turn.cancelled()
                if not got_turn:
                    turn.cancel()
                elif sys.exc_info()[0] is not None:  # cancelled while holding the turn
                    self._turns.release()
            if got_turn:
                return
        try:
            async with asyncio.timeout(left):
                await self._turns.acquire()
        except TimeoutError:
            raise OverloadedError("server shutting down; retry on another instance") from None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._turns.locked() or self._drain.draining:
            await self._wait_for_turn()
        else:
            await self._turns.acquire()
        try:
            yield
        finally:
            self._turns.release()
