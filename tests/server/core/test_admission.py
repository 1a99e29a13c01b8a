"""core/admission.py and core/drain.py as plain objects: the bounds, releases, the batch
lane's turns and what a drain leaves to queued work."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from retail_api.core.admission import Admission, BatchLane, OverloadedError
from retail_api.core.drain import SAFETY_SECONDS, Drain


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def test_body_bytes_are_bounded_and_released() -> None:
    admission = Admission(max_body_bytes=100, max_batches=2)
    first = admission.ticket(60)
    with pytest.raises(OverloadedError, match=r"^server busy: 60 body bytes in flight, limit 100"):
        admission.ticket(41)
    second = admission.ticket(40)
    assert admission.body_bytes == 100
    first.release()
    first.release()  # a second release changes nothing
    assert admission.body_bytes == 40
    with second:
        pass
    assert admission.body_bytes == 0


def test_batches_are_bounded_apart_from_bytes() -> None:
    admission = Admission(max_body_bytes=1000, max_batches=1)
    with admission.ticket(10, batch=True):
        with pytest.raises(OverloadedError, match=r"^server busy: 1 batches in flight, limit 1"):
            admission.ticket(10, batch=True)
        with admission.ticket(10):  # a single basket still fits
            assert (admission.body_bytes, admission.batches) == (20, 1)
    assert (admission.body_bytes, admission.batches) == (0, 0)


def test_drain_leaves_the_grace_period_minus_the_safety_margin() -> None:
    drain = Drain(grace_seconds=5)
    assert (drain.draining, drain.seconds_left()) == (False, None)
    drain.begin()
    left = drain.seconds_left()
    assert drain.draining
    assert left is not None and 0 < left <= 5 - SAFETY_SECONDS


def test_lane_runs_batches_one_at_a_time_in_arrival_order() -> None:
    async def scenario() -> list[str]:
        lane = BatchLane(1, Drain(grace_seconds=5))
        events: list[str] = []

        async def batch(name: str) -> None:
            async with lane.turn():
                events.append(f"{name} start")
                await asyncio.sleep(0.01)
                events.append(f"{name} end")

        await asyncio.gather(batch("a"), batch("b"), batch("c"))
        return events

    assert _run(scenario()) == ["a start", "a end", "b start", "b end", "c start", "c end"]


def test_queued_batch_that_gets_no_turn_before_the_drain_ends_is_refused() -> None:
    async def scenario() -> list[str]:
        drain = Drain(grace_seconds=SAFETY_SECONDS + 0.2)  # 0.2 s left once it begins
        lane = BatchLane(1, drain)
        outcomes: list[str] = []

        async def long_batch() -> None:
            async with lane.turn():
                drain.begin()
                await asyncio.sleep(1.0)  # holds the only turn past the drain's end
                outcomes.append("long done")

        async def queued() -> None:
            await asyncio.sleep(0.01)
            try:
                async with lane.turn():
                    outcomes.append("queued ran")
            except OverloadedError as exc:
                outcomes.append(str(exc))

        await asyncio.gather(long_batch(), queued())
        return outcomes

    assert _run(scenario()) == [
        "server shutting down; retry on another instance",
        "long done",
    ]


def test_queued_batch_that_gets_its_turn_in_time_still_runs_after_the_drain_begins() -> None:
    async def scenario() -> list[str]:
        drain = Drain(grace_seconds=SAFETY_SECONDS + 2)
        lane = BatchLane(1, drain)
        outcomes: list[str] = []

        async def short_batch() -> None:
            async with lane.turn():
                drain.begin()
                await asyncio.sleep(0.05)
                outcomes.append("short done")

        async def queued() -> None:
            await asyncio.sleep(0.01)
            async with lane.turn():
                outcomes.append("queued ran")

        await asyncio.gather(short_batch(), queued())
        return outcomes

    assert _run(scenario()) == ["short done", "queued ran"]
