"""How `python -m retail_api` runs uvicorn: timeouts, worker metrics, no uvicorn access log.

uvicorn (uvloop + httptools) stays: it measured fastest here and it already times out idle
keep-alive connections and bounds the graceful shutdown. What it lacks is a deadline for
request headers (a slowloris client could hold a connection forever), added here by a
protocol subclass; the body deadline lives in api/body.py, where the body is read.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from retail_api.core.config import MULTIPROC_ENV, Settings
from retail_api.core.logging import logging_config

# Half of `docker stop`'s default 10 s grace period; see run().
GRACEFUL_SHUTDOWN_SECONDS = 5


@functools.cache
def _header_timeout() -> float:
    # Read once per worker from the same environment the app's Settings come from.
    return Settings().header_timeout


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """httptools protocol that closes a connection whose request headers take too long.

    The clock starts when the connection opens, or at the first byte of a later request
    on a kept-alive one (uvicorn's keep-alive timer covers the idle time before that), and
    stops when the headers are complete.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(_header_timeout(), self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def prepare_metrics_dir(workers: int) -> tuple[Path, bool] | None:
    """Switch prometheus_client to multiprocess mode when more than one worker serves.

    Uses PROMETHEUS_MULTIPROC_DIR when set (e.g. on the pod's /tmp emptyDir), else a fresh
    directory under $TMPDIR. Files left by an earlier run are removed, as the library asks.
    Must run before anything imports prometheus_client: workers inherit the variable.
    Returns the directory and whether it was created here (then run() removes it).
    """
    directory = os.environ.get(MULTIPROC_ENV)
    if workers == 1 and not directory:
        return None
    if directory:
        path, created = Path(directory), False
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        path, created = Path(tempfile.mkdtemp(prefix="retail-api-metrics-")), True
    os.environ[MULTIPROC_ENV] = str(path)
    return path, created


def run(settings: Settings) -> None:
    metrics_dir = prepare_metrics_dir(settings.workers)
    try:
        _serve(settings)
    finally:
        if metrics_dir is not None and metrics_dir[1]:
            shutil.rmtree(metrics_dir[0], ignore_errors=True)


def _serve(settings: Settings) -> None:
    uvicorn.run(
        "retail_api.main:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level),
        # The app writes its own structured access line (core/logging.py).
        access_log=False,
        loop="uvloop",
        http=HeaderTimeoutProtocol,
        timeout_keep_alive=settings.keep_alive_timeout,
        # `docker stop` sends SIGKILL 10 s after SIGTERM by default. Waiting as long as
        # that for in-flight requests would spend the whole grace period, so one slow
        # request would get the container killed (exit 137) before the lifespan shutdown
        # ran. 5 s leaves the other half for shutdown and process exit.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
