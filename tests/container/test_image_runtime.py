"""The production image as built and run by a real Docker engine."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from retail_api.schemas import EXAMPLE_BASKET
from testkit.engine import DockerError, build_image, container_logs, docker, inspect
from testkit.net import answers_ok, wait_for
from tests.container.conftest import (
    LABEL_ARGS,
    OCI_LABEL_FOR_ARG,
    BuiltImage,
    RunningContainer,
    inspect_state,
    remove_container,
    run_container,
)

pytestmark = pytest.mark.container

NANOSECONDS = 1_000_000_000
# The start-to-healthy goal; the benchmark reports the measured figure.
HEALTHY_GOAL_SECONDS = 3


def http_json(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def serving(url: str) -> bool:
    return answers_ok(f"{url}/health")


def health_budget_seconds(image: str) -> float:
    """What the image's HEALTHCHECK allows before it would declare the container unhealthy."""
    check = inspect(image)["Config"]["Healthcheck"]
    return float(check["StartPeriod"] + check["Interval"] * check["Retries"]) / NANOSECONDS


def exec_in(name: str, *command: str) -> str:
    return docker("exec", name, *command, timeout=30).strip()


def test_config_user_is_numeric_and_not_root(built_image: BuiltImage) -> None:
    user = inspect(built_image.tag)["Config"]["User"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit(), f"User {user!r} must be numeric uid:gid"
    assert int(uid) != 0 and int(gid) != 0


def test_config_declares_port_command_and_env(built_image: BuiltImage) -> None:
    config = inspect(built_image.tag)["Config"]
    assert "8000/tcp" in config["ExposedPorts"]
    assert config["Cmd"] == ["python", "-m", "retail_api"]
    assert "PYTHONDONTWRITEBYTECODE=1" in config["Env"]
    assert "PYTHONUNBUFFERED=1" in config["Env"]


def test_oci_labels_carry_the_build_args(built_image: BuiltImage) -> None:
    labels = inspect(built_image.tag)["Config"]["Labels"]
    expected = {OCI_LABEL_FOR_ARG[arg]: value for arg, value in LABEL_ARGS.items()}
    assert {name: labels.get(name) for name in expected} == expected


def test_oci_labels_have_defaults_without_build_args(built_image: BuiltImage) -> None:
    """Only the label layer is rebuilt: every layer above it comes from the session build."""
    args = {key: value for key, value in built_image.build_args.items() if key not in LABEL_ARGS}
    tag = "retail-api:test-default-labels"
    build_image(built_image.context, tag, args)
    try:
        labels = inspect(tag)["Config"]["Labels"]
    finally:
        docker("rmi", tag)
    assert labels["org.opencontainers.image.title"] == "retail-api"
    assert labels["org.opencontainers.image.version"] == "0.0.0"
    assert labels["org.opencontainers.image.revision"] == "unknown"
    assert labels["org.opencontainers.image.source"].startswith("https://")


def test_build_args_for_pip_do_not_reach_the_runtime_image(built_image: BuiltImage) -> None:
    index = built_image.build_args["PIP_INDEX_URL"]
    env = inspect(built_image.tag)["Config"]["Env"]
    history = docker("history", "--no-trunc", built_image.tag)
    # Neither the env nor the history of the runtime image names the index.
    assert [var for var in env if var.startswith(("PIP_INDEX_URL=", "PIP_CERT="))] == []
    assert index not in history


def test_healthcheck_probes_liveness_with_the_interpreter(built_image: BuiltImage) -> None:
    check = inspect(built_image.tag)["Config"]["Healthcheck"]
    assert check["Test"][:3] == ["CMD", "python", "-c"]
    assert "/health/live" in check["Test"][3]
    # Docker reports `healthy` only after the first probe, one interval after start.
    assert check["Interval"] <= HEALTHY_GOAL_SECONDS * NANOSECONDS


def test_becomes_healthy_within_the_healthcheck_budget(built_image: BuiltImage) -> None:
    """Timed from `docker run` to Docker itself reporting `healthy`, as production runs it."""
    budget = health_budget_seconds(built_image.tag)
    started = time.monotonic()
    running = run_container(built_image.tag, "--read-only", "--tmpfs", "/tmp")
    try:

        def healthy() -> bool:
            health = inspect_state(running.name).get("Health")
            assert isinstance(health, dict)
            assert health["Status"] != "unhealthy", health
            return bool(health["Status"] == "healthy")

        wait_for(healthy, timeout=budget, interval=0.05)
        elapsed = time.monotonic() - started
    finally:
        remove_container(running.name)
    assert elapsed <= budget, f"healthy after {elapsed:.2f}s, budget {budget:.0f}s"


def test_predict_from_the_host_returns_a_valid_prediction(
    hardened_container: RunningContainer,
) -> None:
    wait_for(lambda: serving(hardened_container.url), timeout=30)
    status, body = http_json(f"{hardened_container.url}/predict", EXAMPLE_BASKET)
    assert status == 200, body
    assert body["prediction"] in body["probability"]
    assert sum(body["probability"].values()) == pytest.approx(1.0, abs=1e-6)
    assert body["confidence"] == pytest.approx(max(body["probability"].values()))
    assert body["model_version"]


def test_bad_input_is_a_422_not_a_500(hardened_container: RunningContainer) -> None:
    wait_for(lambda: serving(hardened_container.url), timeout=30)
    status, _ = http_json(f"{hardened_container.url}/predict", {**EXAMPLE_BASKET, "SPEND": "x"})
    assert status == 422


def test_runs_as_uid_10001(hardened_container: RunningContainer) -> None:
    assert exec_in(hardened_container.name, "id", "-u") == "10001"
    assert exec_in(hardened_container.name, "id", "-g") == "10001"


def test_read_only_root_still_serves(hardened_container: RunningContainer) -> None:
    host_config = inspect(hardened_container.name)["HostConfig"]
    assert host_config["ReadonlyRootfs"] is True
    wait_for(lambda: serving(hardened_container.url), timeout=30)
    probe = "import pathlib; pathlib.Path('/app/x').touch()"
    with pytest.raises(DockerError, match="Read-only file system"):
        exec_in(hardened_container.name, "python", "-c", probe)
    # /tmp is the tmpfs the runtime may use.
    exec_in(hardened_container.name, "python", "-c", "open('/tmp/ok', 'w').write('1')")


def test_python_is_the_venv_interpreter(built_image: BuiltImage) -> None:
    """`python` on PATH is the venv's, so the SBOM of the venv describes what runs."""
    where = docker("run", "--rm", built_image.tag, "python", "-c", "import sys; print(sys.prefix)")
    assert where.strip() == "/opt/venv"


def test_runtime_has_no_compiler(built_image: BuiltImage) -> None:
    probe = "import shutil; print([t for t in ('gcc', 'cc', 'g++', 'make') if shutil.which(t)])"
    assert docker("run", "--rm", built_image.tag, "python", "-c", probe).strip() == "[]"


def test_runtime_contains_only_package_artifact_and_sbom(built_image: BuiltImage) -> None:
    listing = docker(
        "run",
        "--rm",
        built_image.tag,
        "python",
        "-c",
        "import os; print(sorted(os.listdir('/app')))",
    )
    assert listing.strip() == "['artifact', 'retail_api', 'sbom.cdx.json']"
    found = docker(
        "run",
        "--rm",
        built_image.tag,
        "python",
        "-c",
        "import pathlib; print(sorted(str(p) for p in pathlib.Path('/app').rglob('*')"
        " if p.name in ('tests', 'training', '__pycache__') or p.suffix == '.ipynb'))",
    )
    assert found.strip() == "[]"


def test_sigterm_stops_it_quickly_and_cleanly(plain_container: RunningContainer) -> None:
    wait_for(lambda: serving(plain_container.url), timeout=30)
    started = time.monotonic()
    docker("stop", "--time", "10", plain_container.name, timeout=30)
    elapsed = time.monotonic() - started
    state = inspect_state(plain_container.name)
    logs = container_logs(plain_container.name)
    assert elapsed < 10, f"took {elapsed:.1f}s: SIGTERM was not honoured, SIGKILL ended it"
    assert state["ExitCode"] in (0, 143), state
    assert "Traceback" not in logs
