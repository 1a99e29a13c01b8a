"""core/connection.py: the connection deadline's one timer, on a private event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from retail_api.core.connection import Deadline


def _run(scenario: Callable[[asyncio.AbstractEventLoop], Coroutine[Any, Any, Any]]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(scenario(loop))
    finally:
        loop.close()


def test_deadline_fires_once_at_its_time() -> None:
    async def scenario(loop: asyncio.AbstractEventLoop) -> list[float]:
        fired: list[float] = []
        start = loop.time()
        deadline = Deadline(loop, lambda: fired.append(loop.time() - start))
        deadline.arm(0.05)
        await asyncio.sleep(0.2)
        return fired

    (at,) = _run(scenario)
    assert at >= 0.05


def test_a_later_deadline_replaces_an_earlier_one() -> None:
    """Moved later (a new phase began): the timer fires at the later time, not before."""

    async def scenario(loop: asyncio.AbstractEventLoop) -> tuple[list[float], list[float]]:
        fired: list[float] = []
        start = loop.time()
        deadline = Deadline(loop, lambda: fired.append(loop.time() - start))
        deadline.arm(0.05)
        deadline.arm(0.15)
        await asyncio.sleep(0.1)
        early = list(fired)
        await asyncio.sleep(0.2)
        return early, fired

    early, fired = _run(scenario)
    assert early == []
    assert len(fired) == 1 and fired[0] >= 0.15


def test_an_earlier_deadline_moves_the_timer_forward() -> None:
    async def scenario(loop: asyncio.AbstractEventLoop) -> list[float]:
        fired: list[float] = []
        start = loop.time()
        deadline = Deadline(loop, lambda: fired.append(loop.time() - start))
        deadline.arm(5)
        deadline.arm(0.05)
        await asyncio.sleep(0.3)
        return fired

    (at,) = _run(scenario)
    assert 0.05 <= at < 5


def test_disarmed_and_cancelled_deadlines_never_fire() -> None:
    async def scenario(loop: asyncio.AbstractEventLoop) -> list[str]:
        fired: list[str] = []
        disarmed = Deadline(loop, lambda: fired.append("disarmed"))
        disarmed.arm(0.05)
        disarmed.disarm()
        cancelled = Deadline(loop, lambda: fired.append("cancelled"))
        cancelled.arm(0.05)
        cancelled.cancel()
        await asyncio.sleep(0.2)
        return fired

    assert _run(scenario) == []
