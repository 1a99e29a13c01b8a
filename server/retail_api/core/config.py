"""Runtime settings, read from the plain environment names the deployment sets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# server/artifact in the repo; /app/artifact when the image puts the package at /app/retail_api.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "artifact"

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class Settings(BaseSettings):
    """HOST, PORT, WORKERS, LOG_LEVEL and MODEL_DIR; invalid values name the variable."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    # Binding every interface is the point inside a container; `make serve` passes 127.0.0.1.
    host: str = Field(default="0.0.0.0", min_length=1)  # noqa: S104
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: LogLevel = "info"
    model_dir: Path = DEFAULT_MODEL_DIR

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
