"""Loopback networking helpers: a free port, and polling until something is ready."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.1) -> float:
    """Poll `predicate()` until truthy; return seconds waited, raise TimeoutError otherwise."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)


def answers_ok(url: str, timeout: float = 1) -> bool:
    """Whether a GET of `url` answers 200 now; refused or failing connections are False."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False
