"""Runtime settings, read from the plain environment names the deployment sets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# server/artifact in the repo; /app/artifact when the image puts the package at /app/retail_api.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "artifact"

# The largest valid batch (1000 baskets, every text field 64 ASCII characters, numbers at
# their longest) is ~0.45 MB of compact JSON; 1 MiB leaves room for indentation and
# \u-escapes without letting a client park hundreds of MB in a worker.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# prometheus_client's switch to multiprocess mode (read when it is first imported).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class Settings(BaseSettings):
    """Every variable the server reads; invalid values name the variable."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    # Binding every interface is the point inside a container; `make serve` passes 127.0.0.1.
    host: str = Field(default="0.0.0.0", min_length=1)  # noqa: S104
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: LogLevel = "info"
    model_dir: Path = DEFAULT_MODEL_DIR
    # /predict/batch's body limit; /predict's is fixed (api/body.py) and never above this.
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=16 * 1024, le=64 * 1024**2)
    # Slowloris guards. Headers: from connection (or previous response) to the end of the
    # request headers. Body: from the first body read to the last byte. Keep-alive: idle
    # time between requests on one connection. All three close or answer, never hang.
    header_timeout: float = Field(default=5.0, gt=0, le=300)
    body_timeout: float = Field(default=10.0, gt=0, le=300)
    keep_alive_timeout: int = Field(default=5, ge=1, le=300)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
