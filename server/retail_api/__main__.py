"""``python -m retail_api``: serve with uvicorn using settings from the environment."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from retail_api.core.config import Settings
from retail_api.core.logging import logging_config

# Half of `docker stop`'s default 10 s grace period; see the comment in main().
GRACEFUL_SHUTDOWN_SECONDS = 5


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    """Runs when uvicorn re-raises the stop signal after its graceful shutdown.

    Without it SIGTERM kills the process (status -15) and Ctrl+C prints a
    KeyboardInterrupt traceback; a requested stop is a clean exit.
    """
    raise SystemExit(0 if signum == signal.SIGTERM else 128 + signum)


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            print(f"invalid setting {name}: {error['msg']}", file=sys.stderr)  # noqa: T201
        return 2
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_quietly)
    uvicorn.run(
        "retail_api.main:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level),
        loop="uvloop",
        http="httptools",
        # `docker stop` sends SIGKILL 10 s after SIGTERM by default. Waiting as long as
        # that for in-flight requests would spend the whole grace period, so one slow
        # request would get the container killed (exit 137) before the lifespan shutdown
        # ran. 5 s leaves the other half for shutdown and process exit.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
