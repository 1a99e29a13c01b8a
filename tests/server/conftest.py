"""Shared fixtures for the API tests: the bundled artifact, clients, a trained pipeline."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from retail_api.core.config import DEFAULT_MODEL_DIR, Settings
from retail_api.main import create_app
from retail_api.schemas import EXAMPLE_BASKET
from training.train import TrainingResult, train

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
