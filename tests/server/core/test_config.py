"""Settings come from the plain environment names; bad values name the variable."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from retail_api.core.config import DEFAULT_MODEL_DIR, Settings
from retail_api.core.logging import JsonFormatter

SERVER_DIR = Path(__file__).resolve().parents[3] / "server"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "WORKERS", "LOG_LEVEL", "MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.host, settings.port, settings.workers, settings.log_level) == (
        "0.0.0.0",
        8000,
        1,
        "info",
    )
    assert settings.model_dir == DEFAULT_MODEL_DIR == SERVER_DIR / "artifact"
    assert (DEFAULT_MODEL_DIR / "model.json").is_file()


def test_reads_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("WORKERS", "3")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    settings = Settings()
    assert (
        settings.host,
        settings.port,
        settings.workers,
        settings.log_level,
        settings.model_dir,
    ) == ("127.0.0.1", 9001, 3, "warning", tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "70000"),
        ("PORT", "http"),
        ("WORKERS", "0"),
        ("LOG_LEVEL", "loud"),
        ("MAX_INFLIGHT_BATCHES", "0"),
        ("MAX_HEADERS", "5000"),
        ("MAX_HEADER_BYTES", "10"),
        ("MAX_HEADER_LINE_BYTES", "10"),
        ("SHUTDOWN_TIMEOUT", "0"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as excinfo:
        Settings()
    assert excinfo.value.errors()[0]["loc"] == (name.lower(),)


def test_cli_reports_bad_setting_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "retail_api"],
        cwd=SERVER_DIR,
        capture_output=True,
        text=True,
        env={"PORT": "0", "PATH": ""},
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid setting PORT: Input should be greater than or equal to 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_formatter_includes_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "retail_api",
            "levelname": "ERROR",
            "msg": "bad %s",
            "args": ("model",),
            "model_dir": "/x",
        }
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "bad model"
    assert entry["level"] == "error"
    assert entry["model_dir"] == "/x"
    assert entry["time"].endswith("+00:00")


def test_graceful_shutdown_fits_inside_docker_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's drain must end before `docker stop`'s SIGKILL (10 s after SIGTERM)."""
    import signal

    import uvicorn

    import retail_api.__main__ as entry
    from retail_api.core import config

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # keep pytest's handlers
    for name in ("HOST", "PORT", "WORKERS", "LOG_LEVEL", "MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert entry.main() == 0
    (kwargs,) = calls
    # docker stop's default grace is 10 s; leave half of it for lifespan shutdown and exit.
    assert kwargs["timeout_graceful_shutdown"] == config.GRACEFUL_SHUTDOWN_SECONDS == 5


def test_in_flight_bytes_must_hold_one_full_batch() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Settings(max_body_bytes=2 * 1024 * 1024, max_inflight_body_bytes=1024 * 1024)
    assert str(excinfo.value.errors()[0]["msg"]) == (
        "Value error, MAX_INFLIGHT_BODY_BYTES (1048576) must be at least MAX_BODY_BYTES "
        "(2097152), or no full batch is ever admitted"
    )
