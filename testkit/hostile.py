"""Many raw HTTP/1.1 clients at once on loopback, for overload and shutdown tests.

Each client opens its own connection, sends one whole request and either hangs up at once
(`abandon=True`, a client that stopped caring) or reads the answer until the server closes.
Everything is bounded: the number of clients by the caller, every wait by `timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# What a client saw: the status code, or one of these when no answer came.
RESET = "reset"
TIMEOUT = "timeout"
NO_ANSWER = "closed without an answer"


@dataclass(frozen=True)
class Outcome:
    status: int | str
    headers: dict[str, str]


def post_request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _parse(reply: bytes) -> Outcome:
    if not reply:
        return Outcome(NO_ANSWER, {})
    head = reply.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    return Outcome(int(head[0].split(" ", 2)[1]), headers)


async def _one(port: int, request: bytes, abandon: bool, timeout: float) -> Outcome:
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request)
                await writer.drain()
                if abandon:
                    return Outcome(NO_ANSWER, {})
                return _parse(await reader.read())
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except TimeoutError:
        return Outcome(TIMEOUT, {})
    except (ConnectionResetError, BrokenPipeError):
        return Outcome(RESET, {})


async def _run(
    port: int,
    requests: list[bytes],
    abandon: bool,
    timeout: float,
    after_sent: Callable[[], Awaitable[None]] | None,
) -> list[Outcome]:
    tasks = [asyncio.create_task(_one(port, r, abandon, timeout)) for r in requests]
    if after_sent is not None:
        await after_sent()
    return list(await asyncio.gather(*tasks))


def send_all(
    port: int,
    requests: list[bytes],
    *,
    abandon: bool = False,
    timeout: float = 30,
    after_sent: Callable[[], Awaitable[None]] | None = None,
) -> list[Outcome]:
    """Send every request on its own connection at once; `after_sent` runs meanwhile.

    A private event loop, not asyncio.run: that one leaves the thread's current loop unset,
    which breaks later code in the same process that asks for it (Pulumi's mocks do).
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_run(port, requests, abandon, timeout, after_sent))
    finally:
        loop.close()
