"""One real uvicorn process on a free loopback port: serve, log JSON, stop cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_live(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited during startup"
        try:
            if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become live within 20 s")


@pytest.fixture
def server() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "info"}
    env.pop("MODEL_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "retail_api"],
        cwd=SERVER_DIR,
        env=env,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_live(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


@pytest.mark.timeout(60)
def test_real_server_serves_and_stops_cleanly(
    server: tuple[str, subprocess.Popen[str]], basket: dict[str, Any]
) -> None:
    base, process = server
    health = httpx.get(f"{base}/health", timeout=5)
    assert health.status_code == 200
    predicted = httpx.post(f"{base}/predict", json=basket, timeout=5)
    assert predicted.status_code == 200
    assert predicted.json()["model_version"] == health.json()["model_version"]
    bad = httpx.post(
        f"{base}/predict", content=b"{", timeout=5, headers={"content-type": "application/json"}
    )
    assert bad.status_code == 422

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Traceback" not in stderr
    logs = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    events = [entry.get("event") for entry in logs]
    assert "model_loaded" in events
    assert events[-1] is None and logs[-1]["message"].startswith("Finished server process")
    assert "shutdown" in events
