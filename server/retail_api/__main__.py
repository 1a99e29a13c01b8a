"""``python -m retail_api``: serve with uvicorn using settings from the environment."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from retail_api.core.config import Settings
from retail_api.core.logging import logging_config


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            print(f"invalid setting {name}: {error['msg']}", file=sys.stderr)  # noqa: T201
        return 2
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
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
