"""Runtime settings, read from the plain environment names the deployment sets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# server/artifact in the repo; /app/artifact when the image puts the package at /app/retail_api.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "artifact"

# The largest valid batch (1000 baskets, every text field 64 ASCII characters, numbers at
# their longest) is ~0.45 MB of compact JSON; 1 MiB leaves room for indentation and
# \u-escapes without letting a client park hundreds of MB in a worker.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# Half of `docker stop`'s default 10 s grace period, leaving the rest for lifespan shutdown
# and process exit.
GRACEFUL_SHUTDOWN_SECONDS = 5

# prometheus_client's switch to multiprocess mode (read when it is first imported).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Admission bounds per worker (core/admission.py), sized for the EKS example's 512 MiB pod
# limit: a worker idles at ~90 MiB, and a largest batch in flight (1 MiB body, its parsed
# baskets and answers) adds under 10 MiB, so 4 batches and 8 MiB of bodies stay far inside.
DEFAULT_MAX_INFLIGHT_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_INFLIGHT_BATCHES = 4

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
    # Work one worker holds at once; past either bound a request gets 503 + Retry-After.
    max_inflight_body_bytes: int = Field(
        default=DEFAULT_MAX_INFLIGHT_BODY_BYTES, ge=16 * 1024, le=1024**3
    )
    max_inflight_batches: int = Field(default=DEFAULT_MAX_INFLIGHT_BATCHES, ge=1, le=256)
    # Request header bounds (431 past them): all header bytes, one header line, the count.
    # nginx's defaults are 1 KiB lines with up to four 8 KiB buffers; these sit close.
    max_header_bytes: int = Field(default=32 * 1024, ge=1024, le=1024**2)
    max_header_line_bytes: int = Field(default=8 * 1024, ge=256, le=1024**2)
    max_headers: int = Field(default=100, ge=8, le=2000)
    # Slowloris guards. Headers: from connection (or previous response) to the end of the
    # request headers. Body: from the first body read to the last byte. Keep-alive: idle
    # time between requests on one connection. All three close or answer, never hang.
    header_timeout: float = Field(default=5.0, gt=0, le=300)
    body_timeout: float = Field(default=10.0, gt=0, le=300)
    keep_alive_timeout: int = Field(default=5, ge=1, le=300)
    # uvicorn's graceful period after SIGTERM (core/drain.py); must stay inside the pod's
    # terminationGracePeriodSeconds minus its preStop sleep.
    shutdown_timeout: int = Field(default=GRACEFUL_SHUTDOWN_SECONDS, ge=1, le=300)

    @model_validator(mode="after")
    def _batch_fits_in_flight(self) -> Settings:
        if self.max_inflight_body_bytes < self.max_body_bytes:
            raise ValueError(
                f"MAX_INFLIGHT_BODY_BYTES ({self.max_inflight_body_bytes}) must be at least "
                f"MAX_BODY_BYTES ({self.max_body_bytes}), or no full batch is ever admitted"
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
