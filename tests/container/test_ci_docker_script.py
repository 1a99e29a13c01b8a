"""The argument handling and idempotent stop of .ci/docker.sh (no engine is started here)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from infra.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / ".ci" / "docker.sh"


def run(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RETAIL_DOCKER_DIR": str(state_dir)}
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def test_unknown_subcommand_prints_usage(tmp_path: Path) -> None:
    result = run("restart", state_dir=tmp_path / "state")
    assert result.returncode == 1
    assert "usage:" in result.stderr and "start|stop" in result.stderr


def test_stop_without_a_daemon_is_a_no_op_twice(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run("stop", state_dir=state).returncode == 0
    assert run("stop", state_dir=state).returncode == 0


def test_stop_removes_stale_state(tmp_path: Path) -> None:
    """A pidfile naming a dead process (a crashed run) must not block the clean-up."""
    state = tmp_path / "state"
    (state / "data").mkdir(parents=True)
    (state / "docker.pid").write_text("999999999\n")
    assert run("stop", state_dir=state).returncode == 0
    assert not state.exists()
