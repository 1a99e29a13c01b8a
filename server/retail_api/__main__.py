"""``python -m retail_api``: serve with uvicorn using settings from the environment."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from pydantic import ValidationError

from retail_api.core.config import Settings
from retail_api.core.server import run


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
    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
