"""How `python -m retail_api` runs uvicorn: the guarded protocol, worker metrics, no uvicorn
access log.

uvicorn (uvloop + httptools) stays: it measured fastest here and it already bounds the
graceful shutdown. Connection deadlines and header limits live in core/protocol.py; the
body deadline in api/body.py, where the body is read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

from retail_api.core.config import MULTIPROC_ENV, Settings
from retail_api.core.logging import logging_config
from retail_api.core.protocol import GuardedProtocol


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
        http=GuardedProtocol,
        timeout_keep_alive=settings.keep_alive_timeout,
        # `docker stop` sends SIGKILL 10 s after SIGTERM by default. Waiting as long as
        # that for in-flight requests would spend the whole grace period, so one slow
        # request would get the container killed (exit 137) before the lifespan shutdown
        # ran. 5 s leaves the other half for shutdown and process exit.
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
