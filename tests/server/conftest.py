"""Shared fixtures for the API tests: the bundled artifact, clients, a trained pipeline,
and real uvicorn processes on loopback for what lives in the server (limits, timeouts)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from fastapi.testclient import TestClient

from retail_api.core.config import DEFAULT_MODEL_DIR, MULTIPROC_ENV, Settings
from retail_api.main import create_app
from retail_api.schemas import EXAMPLE_BASKET
from testkit.net import free_port, wait_for
from training.train import TrainingResult, train

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"

ClientFactory = Callable[[Path], TestClient]


@pytest.fixture
def basket() -> dict[str, Any]:
    return dict(EXAMPLE_BASKET)


@pytest.fixture(scope="session")
def trained() -> TrainingResult:
    """The trainer's own code path with its defaults (~4 s, once per session)."""
    return train()


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled artifact, for corrupting."""
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    return target


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    """Build a started TestClient (lifespan run) for a given MODEL_DIR."""
    clients: list[TestClient] = []

    def factory(model_dir: Path) -> TestClient:
        client = TestClient(create_app(Settings(model_dir=model_dir)))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client(DEFAULT_MODEL_DIR)


@pytest.fixture
def no_model_client(make_client: ClientFactory, tmp_path: Path) -> TestClient:
    return make_client(tmp_path / "does-not-exist")


@dataclass
class LiveServer:
    """`python -m retail_api` from server/, as the image runs it, on a free loopback port."""

    process: subprocess.Popen[str]
    port: int
    # stderr goes to a file, not a pipe: nobody reads a pipe while the server runs, and a
    # full one (64 KiB, a few hundred access lines) would block the server's writes.
    log: IO[str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        """SIGTERM, wait, and return everything the server logged."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        self.log.seek(0)
        return self.log.read()


def _is_live(server: LiveServer) -> bool:
    assert server.process.poll() is None, "server exited during startup"
    try:
        return httpx.get(f"{server.base}/health/live", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


ServerFactory = Callable[..., LiveServer]


def _launch(env: dict[str, str]) -> LiveServer:
    port = free_port()
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 -- closed by _servers()
    environ = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "info"}
    for name in ("MODEL_DIR", MULTIPROC_ENV):
        environ.pop(name, None)
    server = LiveServer(
        subprocess.Popen(
            [sys.executable, "-m", "retail_api"],
            cwd=SERVER_DIR,
            env=environ | env,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        ),
        port,
        log,
    )
    return server


@contextmanager
def _servers() -> Iterator[ServerFactory]:
    started: list[LiveServer] = []

    def factory(**env: str) -> LiveServer:
        server = _launch(env)
        started.append(server)
        wait_for(lambda: _is_live(server), timeout=30)
        return server

    try:
        yield factory
    finally:
        for server in started:
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait(timeout=10)
            server.log.close()


@pytest.fixture
def start_server() -> Iterator[ServerFactory]:
    """Start real servers with extra environment (e.g. WORKERS="2"); all killed at the end."""
    with _servers() as factory:
        yield factory


@pytest.fixture(scope="module")
def start_module_server() -> Iterator[ServerFactory]:
    """The same, shared by one test module (a server start costs ~1 s of a shared CPU)."""
    with _servers() as factory:
        yield factory


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (b"" if it just closes)."""
    sock.settimeout(timeout)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
